package dev.ferry.firstpacket;

import dev.ferry.accept.ListenerContext;
import dev.ferry.connect.BackendConnector;
import dev.ferry.connect.Cluster;
import dev.ferry.handoff.ProxiedConnection;
import dev.ferry.route.Decision;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
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

    private final ListenerContext listener;
    private final long acceptedNanos = System.nanoTime();
    private ByteBuf received;
    private ScheduledFuture<?> timeout;
    private boolean decided;
    private boolean finished;

    public FirstPacketHandler(ListenerContext listener) {
        this.listener = listener;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
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
        Decision decision = decide(Math.min(received.readableBytes(), maxBytes), full || clientDone);
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
        apply(ctx, decide(visible, true), "first_packet_timeout");
    }

    private Decision decide(int visible, boolean noMoreBytes) {
        var bytes = received.nioBuffer(received.readerIndex(), visible);
        return noMoreBytes ? listener.router().decideFinal(bytes) : listener.router().decide(bytes);
    }

    private void apply(ChannelHandlerContext ctx, Decision decision, String noMatchReason) {
        switch (decision) {
            case Decision.NeedMore needMore -> refuse(ctx, noMatchReason, false);
            case Decision.NoMatch noMatch -> refuse(ctx, noMatchReason, false);
            case Decision.Reject reject -> refuse(ctx, "rejected", true);
            case Decision.Forward forward -> connect(ctx, forward.cluster());
        }
    }

    private void connect(ChannelHandlerContext ctx, String clusterName) {
        decided = true;
        timeout.cancel(false);
        // Stop reading: from here on, client bytes stay in the kernel for the data plane.
        ctx.channel().config().setAutoRead(false);
        Cluster cluster = listener.clusters().get(clusterName);
        listener.connector().connect(cluster, ctx.channel().eventLoop()).addListener(
                (Future<BackendConnector.Connected> done) -> {
                    if (!done.isSuccess()) {
                        LOG.warn("listener {}: client {} refused: {}", listener.config().name(),
                                ctx.channel().remoteAddress(), done.cause().getMessage());
                        refuse(ctx, "no_backend", false);
                        return;
                    }
                    BackendConnector.Connected backend = done.getNow();
                    if (finished || !ctx.channel().isActive()) {
                        backend.channel().close();
                        refuse(ctx, "client_closed", false);
                        return;
                    }
                    handOff(ctx, clusterName, backend);
                });
    }

    private void handOff(ChannelHandlerContext ctx, String clusterName, BackendConnector.Connected backend) {
        finished = true;
        Channel client = ctx.channel();
        ByteBuf consumed = received;
        received = null;
        ctx.pipeline().remove(this);
        ProxiedConnection connection = new ProxiedConnection(listener.config().name(),
                (InetSocketAddress) client.remoteAddress(), clusterName, backend.endpoint(),
                consumed.readableBytes(), listener.config().idleTimeout(), acceptedNanos, listener.stats());
        listener.handoff().start(connection, client, backend.channel(), consumed);
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
