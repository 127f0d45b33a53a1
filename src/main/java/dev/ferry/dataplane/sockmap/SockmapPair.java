package dev.ferry.dataplane.sockmap;

import dev.ferry.bpf.BpfException;
import dev.ferry.dataplane.EpollInterest;
import dev.ferry.handoff.ConnectionEnd;
import dev.ferry.handoff.ProxiedConnection;
import dev.ferry.sys.Sockets;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
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
 * <p>Two things cross the redirect only with user space's help, and both are counted rather than
 * guessed (docs/flow-control.md):
 * <ul>
 *   <li>The end of a stream (KERNEL-NOTES fact 6): when a source sends its FIN, the target's output
 *       is shut down only once every byte the source received was forwarded and every forwarded
 *       byte has entered the target's send queue.</li>
 *   <li>Held bytes (flow control): above the in-flight limit the verdict passes a source's bytes
 *       to the source socket itself, where TCP's window holds the sender back. This class reads
 *       them and writes them to the target, but only after every byte redirected before them has
 *       entered the target, and tells the verdict how far it got so that it can redirect again.</li>
 * </ul>
 * The counters: the verdict's redirected and passed bytes; TCP_INFO's bytes_received on the
 * source; bytes_acked plus SIOCOUTQ on the target for what entered it.
 */
final class SockmapPair {
    private static final Logger LOG = LoggerFactory.getLogger(SockmapPair.class);
    private static final SockmapKernel.ConnCounters NOTHING_YET = new SockmapKernel.ConnCounters(0, 0, 0, 0, 0, false);
    private static final long MAX_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /** Held bytes read but not yet written stay under this; beyond it reading pauses. */
    private static final int MAX_PENDING_BYTES = 256 * 1024;
    /**
     * A held source's receive buffer: small, so that TCP closes the sender's window soon instead
     * of letting autotuning grow the buffer that holds the bytes the peer cannot take yet.
     */
    private static final int HELD_RECEIVE_BUFFER = 128 * 1024;

    private final SockmapKernel kernel;
    private final ProxiedConnection connection;
    private final long maxInFlight;
    private final Side client;
    private final Side backend;
    private final List<Direction> directions;
    private ScheduledFuture<?> idleCheck;
    private long lastForwarded = -1;
    private long lastActivityNanos = System.nanoTime();
    private boolean inserted;
    private boolean ended;

    /** A pair of two sockets; client and backend may be the same channel (the echo). */
    SockmapPair(SockmapKernel kernel, ProxiedConnection connection, Channel client, Channel backend, long maxInFlight) {
        this.kernel = kernel;
        this.connection = connection;
        this.maxInFlight = maxInFlight;
        this.client = new Side(client, connection.readFromClient(), ConnectionEnd.CLIENT_RESET);
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
        }
        for (Direction direction : directions) {
            Direction d = direction;
            kernel.onHold(d.source.cookie, () -> d.source.channel.eventLoop().execute(() -> startDraining(d)));
        }
        try {
            if (backend != client) {
                kernel.insertPair(client.asKernelSocket(), backend.asKernelSocket(), maxInFlight);
            } else {
                kernel.insertEcho(client.asKernelSocket(), maxInFlight);
            }
        } catch (BpfException | IOException e) {
            kernel.remove(client.cookie);
            kernel.remove(backend.cookie);
            throw e;
        }
        inserted = true;
        client.channel.pipeline().addLast("sockmap-watch", new Watcher(client));
        EpollInterest.keepRegistered(client.channel);
        if (backend != client) {
            backend.channel.pipeline().addLast("sockmap-watch", new Watcher(backend));
            EpollInterest.keepRegistered(backend.channel);
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
            forwarded += counters(direction.source).redirectedBytes() + direction.userWritten;
        }
        long now = System.nanoTime();
        if (forwarded != lastForwarded) {
            lastForwarded = forwarded;
            lastActivityNanos = now;
        } else if (now - lastActivityNanos >= connection.idleTimeout().toNanos()) {
            end(ConnectionEnd.IDLE_TIMEOUT, false);
        }
    }

    private SockmapKernel.ConnCounters counters(Side source) {
        return kernel.counters(source.cookie).orElse(NOTHING_YET);
    }

    /** The verdict started holding the source's bytes: read them, to forward them in order. */
    private void startDraining(Direction direction) {
        if (ended || direction.eof) {
            return;
        }
        try {
            if (direction.receiveBufferBeforeHold == 0) {
                direction.receiveBufferBeforeHold = Sockets.receiveBuffer(direction.source.fd) / 2;
                Sockets.setReceiveBuffer(direction.source.fd, HELD_RECEIVE_BUFFER);
            }
        } catch (IOException e) {
            socketStateUnreadable(direction, e);
            return;
        }
        direction.source.channel.config().setAutoRead(true);
    }

    /** Bytes the verdict held, now read from the source socket. */
    private void heldBytesRead(Direction direction, ByteBuf bytes) {
        direction.userRead += bytes.readableBytes();
        direction.pending.addComponent(true, bytes);
        if (direction.pending.readableBytes() >= MAX_PENDING_BYTES) {
            direction.source.channel.config().setAutoRead(false);
        }
        flush(direction, 0);
    }

    /**
     * Writes the held bytes read so far to the target, once every byte redirected before them has
     * entered the target's send queue: until then they would overtake it.
     */
    private void flush(Direction direction, int attempt) {
        if (ended || direction.writing || !direction.pending.isReadable()) {
            return;
        }
        try {
            long redirected = counters(direction.source).redirectedBytes();
            if (direction.target.enqueuedSinceBaseline() < redirected + direction.userWritten) {
                retryLater(direction.source, attempt, () -> flush(direction, attempt + 1));
                return;
            }
        } catch (IOException e) {
            socketStateUnreadable(direction, e);
            return;
        }
        // Hand the whole batch to the write and start a new one: a slice of the old buffer would
        // share components that a later discard releases under it.
        ByteBuf batch = direction.takePending();
        int length = batch.readableBytes();
        direction.writing = true;
        direction.target.channel.writeAndFlush(batch).addListener((ChannelFuture written) -> {
            direction.writing = false;
            if (!written.isSuccess()) {
                end(direction.target.resetEnd, true);
                return;
            }
            direction.userWritten += length;
            kernel.setDrained(direction.source.cookie, direction.userWritten);
            afterHeldBytesWritten(direction);
        });
    }

    private void afterHeldBytesWritten(Direction direction) {
        if (ended) {
            return;
        }
        if (direction.pending.isReadable()) {
            flush(direction, 0);
            return;
        }
        if (direction.eof) {
            drain(direction, 0);
            return;
        }
        SockmapKernel.ConnCounters counters = counters(direction.source);
        boolean caughtUp = !counters.held() && counters.passedBytes() == direction.userWritten;
        // Caught up: the kernel forwards again, and a new hold will announce itself.
        direction.source.channel.config().setAutoRead(!caughtUp);
        if (caughtUp && direction.receiveBufferBeforeHold != 0) {
            try {
                Sockets.setReceiveBuffer(direction.source.fd, direction.receiveBufferBeforeHold);
                direction.receiveBufferBeforeHold = 0;
            } catch (IOException e) {
                socketStateUnreadable(direction, e);
            }
        }
    }

    /** After the source's FIN: shut the target's output once everything before it was delivered. */
    private void drain(Direction direction, int attempt) {
        if (ended || direction.shut) {
            return;
        }
        try {
            SockmapKernel.ConnCounters counters = counters(direction.source);
            if (counters.redirectFailures() > 0 || direction.userRead > counters.passedBytes()) {
                LOG.error("listener {}: cluster {}: {} redirect failure(s), {} byte(s) read past the verdict; resetting",
                        connection.listener(), connection.cluster(), counters.redirectFailures(),
                        Math.max(0, direction.userRead - counters.passedBytes()));
                end(ConnectionEnd.FORWARDING_ERROR, true);
                return;
            }
            if (direction.delivered(counters)) {
                direction.shut = true;
                ((DuplexChannel) direction.target.channel).shutdownOutput().addListener(shut -> {
                    if (directions.stream().allMatch(d -> d.shut)) {
                        end(ConnectionEnd.CLOSED, false);
                    }
                });
                return;
            }
        } catch (IOException e) {
            socketStateUnreadable(direction, e);
            return;
        }
        if (!direction.writing && !direction.pending.isReadable()) {
            retryLater(direction.source, attempt, () -> drain(direction, attempt + 1));
        }
    }

    private static void retryLater(Side side, int attempt, Runnable retry) {
        long delay = Math.min(MAX_POLL_NANOS, TimeUnit.MICROSECONDS.toNanos(100L << Math.min(attempt, 12)));
        side.channel.eventLoop().schedule(retry, delay, TimeUnit.NANOSECONDS);
    }

    private void socketStateUnreadable(Direction direction, IOException e) {
        LOG.debug("cannot read the state of a socket of the pair: {}", e.toString());
        end(direction.source.resetEnd, true);
    }

    private void end(ConnectionEnd how, boolean reset) {
        if (ended) {
            return;
        }
        ended = true;
        if (idleCheck != null) {
            idleCheck.cancel(false);
        }
        Direction toBackend = directions.getFirst();
        Direction toClient = directions.getLast();
        long bytesToBackend = connection.consumedFromClient() + counters(client).redirectedBytes() + toBackend.userWritten;
        long bytesToClient = backend == client ? bytesToBackend : counters(backend).redirectedBytes() + toClient.userWritten;
        for (Direction direction : directions) {
            direction.pending.release();
            // Bytes the kernel held back and user space forwarded: how often flow control engaged.
            connection.stats().add("ferry_sockmap_held_bytes_total", direction.userWritten);
        }
        for (Side side : backend == client ? List.of(client) : List.of(client, backend)) {
            if (reset && side.channel.isOpen()) {
                side.channel.config().setOption(ChannelOption.SO_LINGER, 0);
            }
            side.channel.close();
            if (inserted) {
                // The kernel drops a closed socket from the sockhashes itself; the other entries are ours.
                kernel.remove(side.cookie);
            }
        }
        connection.end("sockmap", how, bytesToBackend, bytesToClient);
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

        SockmapKernel.Socket asKernelSocket() {
            return new SockmapKernel.Socket(fd, cookie, sendBaseline);
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

        long enqueuedSinceBaseline() throws IOException {
            return enqueuedForSending() - sendBaseline;
        }

        /** Payload bytes received after the FIN arrived: TCP counts the FIN as one received byte. */
        long payloadReceivedAtEof() throws IOException {
            return Sockets.tcpInfo(fd).bytesReceived() - 1;
        }
    }

    /** Bytes flowing from one socket to (the egress of) another. */
    private static final class Direction {
        final Side source;
        final Side target;
        CompositeByteBuf pending;
        long userRead;
        long userWritten;
        /** While held: the source's receive buffer before it was made small, to restore after. */
        int receiveBufferBeforeHold;
        boolean writing;
        boolean eof;
        boolean shut;

        Direction(Side source, Side target) {
            this.source = source;
            this.target = target;
            this.pending = source.channel.alloc().compositeBuffer(64);
        }

        /** The held bytes read so far, leaving an empty buffer in their place. */
        ByteBuf takePending() {
            CompositeByteBuf taken = pending;
            pending = source.channel.alloc().compositeBuffer(64);
            return taken;
        }

        /**
         * True when every byte the source received was consumed before the handoff, redirected, or
         * held and then written by user space, and every one of them is in the target's send queue.
         */
        boolean delivered(SockmapKernel.ConnCounters counters) throws IOException {
            long received = source.payloadReceivedAtEof() - source.consumed;
            if (received != counters.redirectedBytes() + counters.passedBytes()) {
                return false;
            }
            if (userWritten != counters.passedBytes() || writing || pending.isReadable()) {
                return false;
            }
            return target.enqueuedSinceBaseline() >= counters.redirectedBytes() + userWritten;
        }
    }

    /** Watches one socket: its end, and the held bytes user space forwards. */
    private final class Watcher extends ChannelInboundHandlerAdapter {
        private final Side side;

        Watcher(Side side) {
            this.side = side;
        }

        private Direction from() {
            return directions.getFirst().source == side ? directions.getFirst() : directions.getLast();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (ended) {
                ((ByteBuf) msg).release();
                return;
            }
            heldBytesRead(from(), (ByteBuf) msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof ChannelInputShutdownEvent && !ended) {
                Direction direction = from();
                if (!direction.eof) {
                    direction.eof = true;
                    drain(direction, 0);
                }
            }
            ctx.fireUserEventTriggered(event);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("{}: {}", side.resetEnd.label(), cause.toString());
            end(side.resetEnd, true);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            // Closed by the event loop when Ferry stops, else by the peer or an error.
            boolean stopping = ctx.channel().eventLoop().isShuttingDown();
            LOG.debug("{}: channel closed", stopping ? ConnectionEnd.SHUTDOWN.label() : side.resetEnd.label());
            end(stopping ? ConnectionEnd.SHUTDOWN : side.resetEnd, true);
            ctx.fireChannelInactive();
        }
    }
}
