package dev.ferry.firstpacket;

import dev.ferry.accept.ListenerContext;
import dev.ferry.connect.BackendConnector;
import dev.ferry.connect.Cluster;
import dev.ferry.connect.ConnectionKeys;
import dev.ferry.dataplane.EpollInterest;
import dev.ferry.handoff.ProxiedConnection;
import dev.ferry.route.Decision;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the client's first bytes until the listener's routes can decide, then connects the chosen
 * cluster and hands the pair over. The bytes read here are the only payload Ferry ever holds; they
 * are written to the backend before the data plane takes over.
 *
 * <p>One instance per connection; it owns the accumulated bytes until it passes them on or
 * releases them when the connection is refused.
 */
public final class FirstPacketHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(FirstPacketHandler.class);
    /**
     * How much more Ferry reads, when its last read filled its buffer, to leave the client's queue
     * at a segment boundary for the sockmap plane; a client still sending beyond it goes to the
     * fallback plane (split_first_read).
     */
    private static final int READ_ON_LIMIT = 1024 * 1024;

    private final ListenerContext listener;
    private final long acceptedNanos = System.nanoTime();
    private ByteBuf received;
    private boolean lastReadFilledItsBuffer;
    private ScheduledFuture<?> timeout;
    private boolean decided;
    private boolean finished;

    public FirstPacketHandler(ListenerContext listener) {
        this.listener = listener;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        // From the start, so that a FIN read while routing cannot take the socket out of epoll.
        EpollInterest.keepRegistered(ctx.channel());
        listener.stats().connectionAccepted(listener.config().name());
        received = ctx.alloc().buffer(Math.min(1024, listener.config().firstPacket().maxBytes()));
        timeout = ctx.executor().schedule(() -> timedOut(ctx),
                listener.config().firstPacket().timeout().toNanos(), TimeUnit.NANOSECONDS);
        decide(ctx, false);
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf bytes = (ByteBuf) msg;
        try {
            if (!finished) {
                lastReadFilledItsBuffer = !bytes.isWritable();
                received.writeBytes(bytes);
            }
        } finally {
            bytes.release();
        }
        if (!decided && !finished) {
            decide(ctx, false);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof ChannelInputShutdownEvent && !decided && !finished) {
            // The client finished sending: what it sent is all there will be to decide on.
            decide(ctx, true);
        }
        ctx.fireUserEventTriggered(event);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("client {} failed before forwarding: {}", ctx.channel().remoteAddress(), cause.toString());
        refuse(ctx, "client_error", false);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        refuse(ctx, "client_closed", false);
        ctx.fireChannelInactive();
    }

    /**
     * Decides on what has arrived so far. While a route still waits for bytes, later routes are not
     * tried (first match wins); once no more bytes can count (timeout, size limit, client EOF), a
     * waiting route counts as no match, as when HAProxy's inspect-delay expires, and the
     * connection is refused with that reason unless a later route matches.
     */
    private void decide(ChannelHandlerContext ctx, boolean clientDone) {
        int maxBytes = listener.config().firstPacket().maxBytes();
        boolean full = received.readableBytes() >= maxBytes;
        Decision decision = decide(ctx, Math.min(received.readableBytes(), maxBytes), full || clientDone);
        if (decision instanceof Decision.NeedMore) {
            return;
        }
        String noMatchReason = full ? "first_packet_too_large" : clientDone ? "client_closed" : "no_route";
        apply(ctx, decision, noMatchReason);
    }

    private void timedOut(ChannelHandlerContext ctx) {
        if (decided || finished) {
            return;
        }
        int visible = Math.min(received.readableBytes(), listener.config().firstPacket().maxBytes());
        apply(ctx, decide(ctx, visible, true), "first_packet_timeout");
    }

    private Decision decide(ChannelHandlerContext ctx, int visible, boolean noMoreBytes) {
        var bytes = received.nioBuffer(received.readerIndex(), visible);
        InetSocketAddress peer = (InetSocketAddress) ctx.channel().remoteAddress();
        InetSocketAddress local = (InetSocketAddress) ctx.channel().localAddress();
        return noMoreBytes ? listener.router().decideFinal(bytes, peer, local)
                : listener.router().decide(bytes, peer, local);
    }

    private void apply(ChannelHandlerContext ctx, Decision decision, String noMatchReason) {
        switch (decision) {
            case Decision.NeedMore needMore -> refuse(ctx, noMatchReason, false);
            case Decision.NoMatch noMatch when noMatch.reason().isPresent() -> {
                // A token that failed: worth a line of its own, which names the reason and never the token.
                logRefusal(ctx, noMatch.reason().get(), noMatch.facts());
                refuse(ctx, noMatch.reason().get(), false);
            }
            case Decision.NoMatch noMatch -> refuse(ctx, noMatchReason, false);
            case Decision.Refuse refusal -> {
                logRefusal(ctx, refusal.reason(), refusal.facts());
                refuse(ctx, refusal.reason(), false);
            }
            case Decision.Reject reject -> refuse(ctx, "rejected", true);
            case Decision.Forward forward -> connect(ctx, forward);
        }
    }

    private void connect(ChannelHandlerContext ctx, Decision.Forward forward) {
        String clusterName = forward.cluster();
        decided = true;
        timeout.cancel(false);
        // Stop reading: from here on, client bytes stay in the kernel for the data plane.
        ctx.channel().config().setAutoRead(false);
        Cluster cluster = listener.clusters().get(clusterName);
        // SNI and Host are only looked at if the cluster hashes on them.
        ConnectionKeys keys = ConnectionKeys.lazy(forward::sni, forward::host, forward.source());
        listener.connector().connect(cluster, ctx.channel(), keys).addListener(
                (Future<BackendConnector.Connected> done) -> {
                    if (!done.isSuccess()) {
                        // Limits, no healthy endpoint, every endpoint failed: each is counted under its own reason.
                        String reason = done.cause() instanceof BackendConnector.NoBackendException refused
                                ? refused.reason() : "no_backend";
                        if (reason.endsWith("max_connections") || reason.equals("client_closed")) {
                            // expected under load: counted, not worth a line each
                            LOG.debug("listener {}: client {} refused ({}): {}", listener.config().name(),
                                    ctx.channel().remoteAddress(), reason, done.cause().getMessage());
                        } else {
                            LOG.warn("listener {}: client {} refused ({}): {}", listener.config().name(),
                                    ctx.channel().remoteAddress(), reason, done.cause().getMessage());
                        }
                        refuse(ctx, reason, false);
                        return;
                    }
                    BackendConnector.Connected backend = done.getNow();
                    if (finished || !ctx.channel().isActive()) {
                        backend.channel().close();
                        backend.release();
                        refuse(ctx, "client_closed", false);
                        return;
                    }
                    handOff(ctx, forward, backend);
                });
    }

    private void handOff(ChannelHandlerContext ctx, Decision.Forward forward, BackendConnector.Connected backend) {
        finished = true;
        Channel client = ctx.channel();
        ByteBuf consumed = received;
        received = null;
        boolean readMayHaveSplitASegment = lastReadFilledItsBuffer
                && !(listener.handoff().plane().needsSegmentBoundary()
                     && SegmentBoundary.readOn(((UnixChannel) client).fd().intValue(), consumed, READ_ON_LIMIT));
        long readFromClient = consumed.readableBytes();
        ctx.pipeline().remove(this);
        // A PROXY header and a FERRY token preamble were for Ferry; the backend gets the client's own bytes.
        consumed.skipBytes(forward.facts().leadingBytesToStrip());
        if (forward.facts().proxied()) {
            LOG.debug("listener {}: client {} via proxy {} (authority {}) to cluster {}", listener.config().name(),
                    forward.source(), client.remoteAddress(), forward.facts().authority().orElse("-"),
                    forward.cluster());
        }
        // The client in the access log is the one a trusted PROXY header named, not the proxy.
        ProxiedConnection connection = new ProxiedConnection(listener.config().name(),
                forward.source(), forward.cluster(), backend.endpoint(),
                consumed.readableBytes(), readFromClient, readMayHaveSplitASegment,
                listener.config().idleTimeout(), acceptedNanos, listener.stats(), listener.accessLog());
        connection.whenEnded(backend::release);
        listener.handoff().start(connection, client, backend.channel(), consumed);
    }

    private void logRefusal(ChannelHandlerContext ctx, String reason, dev.ferry.route.ConnectionFacts facts) {
        if (facts.proxied()) {
            LOG.info("listener {}: client {} (via {}) refused: {}", listener.config().name(), facts.source(),
                    ctx.channel().remoteAddress(), reason);
        } else {
            LOG.info("listener {}: client {} refused: {}", listener.config().name(), ctx.channel().remoteAddress(),
                    reason);
        }
    }

    /** Closes a connection that will not be forwarded; counted once, with its reason. */
    private void refuse(ChannelHandlerContext ctx, String reason, boolean reset) {
        if (finished) {
            return;
        }
        finished = true;
        if (timeout != null) {
            timeout.cancel(false);
        }
        if (received != null) {
            received.release();
            received = null;
        }
        listener.stats().connectionRefused(listener.config().name(), reason);
        LOG.debug("listener {}: client {} refused: {}", listener.config().name(), ctx.channel().remoteAddress(), reason);
        if (reset) {
            ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
        }
        ctx.channel().close();
    }
}
