package dev.ferry.dataplane.sockmap;

import dev.ferry.bpf.BpfException;
import dev.ferry.handoff.ConnectionEnd;
import dev.ferry.handoff.ProxiedConnection;
import dev.ferry.sys.Sockets;
import dev.ferry.sys.TcpInfo;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection in the sockmap plane, from insertion to close. All its state is touched only on
 * the event loop of its channels.
 *
 * <p>The kernel forwards payload but not the end of a stream (KERNEL-NOTES fact 6): when a source
 * sends its FIN, the target's output is shut down only once every byte the source received has
 * passed the verdict and every redirected byte has entered the target's send queue. Both are
 * counted, not guessed: the verdict program counts what it redirected, TCP_INFO counts what the
 * source received, and bytes_acked plus SIOCOUTQ counts what entered the target.
 */
final class SockmapPair {
    private static final Logger LOG = LoggerFactory.getLogger(SockmapPair.class);
    private static final SockmapKernel.ConnCounters NOTHING_YET = new SockmapKernel.ConnCounters(0, 0, 0, 0);
    private static final long MAX_DRAIN_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final SockmapKernel kernel;
    private final ProxiedConnection connection;
    private final Side client;
    private final Side backend;
    private final List<Direction> directions;
    private ScheduledFuture<?> idleCheck;
    private long lastForwarded = -1;
    private long lastActivityNanos = System.nanoTime();
    private boolean inserted;
    private boolean ended;

    /** A pair of two sockets; client and backend may be the same channel (the echo). */
    SockmapPair(SockmapKernel kernel, ProxiedConnection connection, Channel client, Channel backend) {
        this.kernel = kernel;
        this.connection = connection;
        this.client = new Side(client, connection.consumedFromClient(), ConnectionEnd.CLIENT_RESET);
        this.backend = client == backend ? this.client : new Side(backend, 0, ConnectionEnd.BACKEND_RESET);
        this.directions = this.client == this.backend
                ? List.of(new Direction(this.client, this.client))
                : List.of(new Direction(this.client, this.backend), new Direction(this.backend, this.client));
    }

    /**
     * Inserts the pair into the kernel's maps; on failure nothing has changed and the caller still
     * owns both channels.
     */
    void start() throws BpfException, IOException {
        client.measureBaseline();
        if (backend != client) {
            backend.measureBaseline();
            kernel.insertPair(client.fd, client.cookie, backend.fd, backend.cookie);
        } else {
            kernel.insertEcho(client.fd, client.cookie);
        }
        inserted = true;
        client.channel.pipeline().addLast("sockmap-watch", new Watcher(client));
        if (backend != client) {
            backend.channel.pipeline().addLast("sockmap-watch", new Watcher(backend));
        }
        scheduleIdleCheck();
    }

    private void scheduleIdleCheck() {
        long idle = connection.idleTimeout().toNanos();
        long period = Math.clamp(idle / 8, TimeUnit.MILLISECONDS.toNanos(50), TimeUnit.SECONDS.toNanos(30));
        idleCheck = client.channel.eventLoop().scheduleAtFixedRate(this::checkIdle, period, period, TimeUnit.NANOSECONDS);
    }

    private void checkIdle() {
        long forwarded = 0;
        for (Direction direction : directions) {
            forwarded += redirected(direction.source);
        }
        long now = System.nanoTime();
        if (forwarded != lastForwarded) {
            lastForwarded = forwarded;
            lastActivityNanos = now;
        } else if (now - lastActivityNanos >= connection.idleTimeout().toNanos()) {
            end(ConnectionEnd.IDLE_TIMEOUT, false);
        }
    }

    private void drain(Direction direction, int attempt) {
        if (ended || direction.shut) {
            return;
        }
        try {
            SockmapKernel.ConnCounters counters = kernel.counters(direction.source.cookie).orElse(NOTHING_YET);
            if (counters.redirectFailures() > 0) {
                LOG.error("listener {}: the kernel failed to redirect {} packet(s) of cluster {}; resetting the connection",
                        connection.listener(), counters.redirectFailures(), connection.cluster());
                end(ConnectionEnd.FORWARDING_ERROR, true);
                return;
            }
            if (direction.delivered(counters.redirectedBytes())) {
                direction.shut = true;
                ((EpollSocketChannel) direction.target.channel).shutdownOutput().addListener(shut -> {
                    if (directions.stream().allMatch(d -> d.shut)) {
                        end(ConnectionEnd.CLOSED, false);
                    }
                });
                return;
            }
        } catch (IOException e) {
            LOG.debug("cannot read the state of a socket of the pair: {}", e.toString());
            end(direction.source.resetEnd, true);
            return;
        }
        long delay = Math.min(MAX_DRAIN_POLL_NANOS, TimeUnit.MICROSECONDS.toNanos(250L << Math.min(attempt, 12)));
        direction.source.channel.eventLoop().schedule(() -> drain(direction, attempt + 1), delay, TimeUnit.NANOSECONDS);
    }

    private long redirected(Side source) {
        return kernel.counters(source.cookie).orElse(NOTHING_YET).redirectedBytes();
    }

    private void end(ConnectionEnd how, boolean reset) {
        if (ended) {
            return;
        }
        ended = true;
        if (idleCheck != null) {
            idleCheck.cancel(false);
        }
        long toBackend = client.consumed + redirected(client);
        long toClient = backend == client ? toBackend : redirected(backend);
        for (Side side : backend == client ? List.of(client) : List.of(client, backend)) {
            if (reset && side.channel.isOpen()) {
                side.channel.config().setOption(ChannelOption.SO_LINGER, 0);
            }
            side.channel.close();
            if (inserted) {
                // The kernel drops a closed socket from the sockhashes itself; the conns entry is ours.
                kernel.remove(side.cookie);
            }
        }
        connection.end("sockmap", how, toBackend, toClient);
    }

    /** One socket of the pair. */
    private static final class Side {
        final Channel channel;
        final int fd;
        final long consumed;
        final ConnectionEnd resetEnd;
        long cookie;
        long sendBaseline;

        Side(Channel channel, long consumed, ConnectionEnd resetEnd) {
            this.channel = channel;
            this.fd = ((UnixChannel) channel).fd().intValue();
            this.consumed = consumed;
            this.resetEnd = resetEnd;
        }

        void measureBaseline() throws IOException {
            cookie = Sockets.cookie(fd);
            sendBaseline = enqueuedForSending();
        }

        /**
         * Bytes (plus SYN and FIN) that ever entered this socket's send queue: acknowledged ones plus
         * those still queued. Read until bytes_acked is stable around SIOCOUTQ, so that an ACK landing
         * between the two reads cannot shift bytes from one term to the other.
         */
        long enqueuedForSending() throws IOException {
            while (true) {
                long acked = Sockets.tcpInfo(fd).bytesAcked();
                long queued = Sockets.unsentAndUnacked(fd);
                if (Sockets.tcpInfo(fd).bytesAcked() == acked) {
                    return acked + queued;
                }
            }
        }

        /** Payload bytes received after the FIN arrived: TCP counts the FIN as one received byte. */
        long payloadReceivedAtEof() throws IOException {
            TcpInfo info = Sockets.tcpInfo(fd);
            return info.bytesReceived() - 1;
        }
    }

    /** Bytes flowing from one socket to (the egress of) another. */
    private static final class Direction {
        final Side source;
        final Side target;
        boolean eof;
        boolean shut;

        Direction(Side source, Side target) {
            this.source = source;
            this.target = target;
        }

        /**
         * True when every byte the source received is either one Ferry consumed before the handoff
         * or one the verdict redirected, and every redirected byte is in the target's send queue.
         */
        boolean delivered(long redirected) throws IOException {
            long received = source.payloadReceivedAtEof() - source.consumed;
            if (received != redirected) {
                return false;
            }
            return target.enqueuedForSending() - target.sendBaseline >= redirected;
        }
    }

    /** Watches one socket for its end; payload never reaches it, the verdict takes it first. */
    private final class Watcher extends ChannelInboundHandlerAdapter {
        private final Side side;

        Watcher(Side side) {
            this.side = side;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof ChannelInputShutdownEvent) {
                for (Direction direction : directions) {
                    if (direction.source == side && !direction.eof) {
                        direction.eof = true;
                        drain(direction, 0);
                    }
                }
            }
            ctx.fireUserEventTriggered(event);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            // A byte that bypassed the verdict would be forwarded out of order: refuse to guess.
            int length = ((ByteBuf) msg).readableBytes();
            ((ByteBuf) msg).release();
            connection.stats().add("ferry_sockmap_unexpected_user_space_bytes_total", length);
            LOG.error("listener {}: {} byte(s) reached user space past the sockmap; resetting the connection",
                    connection.listener(), length);
            end(ConnectionEnd.FORWARDING_ERROR, true);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("{}: {}", side.resetEnd.label(), cause.toString());
            end(side.resetEnd, true);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            LOG.debug("{}: channel closed", side.resetEnd.label());
            end(side.resetEnd, true);
            ctx.fireChannelInactive();
        }
    }
}
