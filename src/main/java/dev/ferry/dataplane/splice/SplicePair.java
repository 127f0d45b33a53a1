package dev.ferry.dataplane.splice;

import dev.ferry.handoff.ConnectionEnd;
import dev.ferry.handoff.ProxiedConnection;
import dev.ferry.stats.Stats;
import dev.ferry.sys.Errno;
import dev.ferry.sys.Splice;
import io.netty.channel.Channel;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoEvent;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection in the splice plane. All its state is touched only on its event loop.
 *
 * <p>The pair takes each socket out of Netty: it duplicates the descriptor, closes the Netty channel
 * (which removes that descriptor from epoll; the socket lives on through the duplicate), and
 * registers the duplicate with the same event loop as an {@link EpollIoHandle}, edge-triggered for
 * input, output, peer shutdown and errors. Every event pumps each direction that holds a pipe, and a
 * direction without one when the event is news on its source, until the kernel says EAGAIN, so no
 * edge is ever left unserved.
 *
 * <p>Per direction: take a pipe from the loop's {@link PipePool}, splice from the source into the
 * pipe while the pipe has room, splice from the pipe into the target while the target takes it, and
 * give the pipe back once it is empty, so that an idle direction holds none. The bytes in the pipe
 * never exceed its capacity (each splice in asks for no more than the room left), and a splice in
 * that would block while the pipe still holds bytes may also mean the pipe ran out of slots first;
 * either way only the target's next EPOLLOUT resumes the direction: the source is not read, its
 * receive queue fills and TCP holds the sender back. The end of a stream (splice returns 0) is
 * carried, with shutdown(SHUT_WR) on the target, only once the pipe has drained into the target.
 */
final class SplicePair {
    private static final Logger LOG = LoggerFactory.getLogger(SplicePair.class);
    private static final int FLAGS = Splice.SPLICE_F_NONBLOCK | Splice.SPLICE_F_MOVE;
    private static final EpollIoOps INTEREST = EpollIoOps.EPOLLIN.with(EpollIoOps.EPOLLOUT)
            .with(EpollIoOps.EPOLLRDHUP).with(EpollIoOps.EPOLLET);
    /** Bytes one direction moves per turn before the loop serves other connections. */
    private static final long TURN_BYTES = 1024 * 1024;
    private static final long MIN_PIPE_RETRY_MILLIS = 10;
    private static final long MAX_PIPE_RETRY_MILLIS = 640;

    private final ProxiedConnection connection;
    private final Channel clientChannel;
    private final Channel backendChannel;
    private final PipePool pipes;
    private final BiConsumer<Stats, IOException> noPipe;
    private Side client;
    private Side backend;
    private Flow toBackend;
    private Flow toClient;
    private IoEventLoop loop;
    private ScheduledFuture<?> idleCheck;
    private long lastMoved = -1;
    private long lastActivityNanos = System.nanoTime();
    private boolean ended;

    /**
     * @param pipes  the pool of the client channel's event loop, where the pair runs
     * @param noPipe told each time a direction with bytes to move finds no pipe
     */
    SplicePair(ProxiedConnection connection, Channel client, Channel backend, PipePool pipes,
               BiConsumer<Stats, IOException> noPipe) {
        this.connection = connection;
        this.clientChannel = client;
        this.backendChannel = backend;
        this.pipes = pipes;
        this.noPipe = noPipe;
    }

    /**
     * Duplicates both sockets. On failure the duplicate made is closed again and the channels are
     * untouched, so the caller may hand them to another plane.
     */
    void duplicateSockets() throws IOException {
        int clientFd = Splice.duplicate(fd(clientChannel));
        int backendFd;
        try {
            backendFd = Splice.duplicate(fd(backendChannel));
        } catch (IOException | RuntimeException e) {
            Pipe.closeQuietly(clientFd);
            throw e;
        }
        client = new Side(new Socket(clientFd), ConnectionEnd.CLIENT_RESET);
        backend = new Side(new Socket(backendFd), ConnectionEnd.BACKEND_RESET);
        toBackend = new Flow(client, backend, connection.consumedFromClient());
        toClient = new Flow(backend, client, 0);
    }

    private static int fd(Channel channel) {
        return ((UnixChannel) channel).fd().intValue();
    }

    /** Takes the sockets from Netty and starts forwarding; from here on the pair owns every descriptor. */
    void start() {
        loop = (IoEventLoop) clientChannel.eventLoop();
        // Netty removes its descriptor from epoll and closes it; the duplicates keep the sockets open.
        clientChannel.close();
        backendChannel.close();
        for (Side side : new Side[] {client, backend}) {
            loop.register(side).addListener((Future<IoRegistration> registered) -> {
                if (!registered.isSuccess()) {
                    LOG.debug("cannot register a spliced socket: {}", registered.cause().toString());
                    end(ConnectionEnd.SHUTDOWN, false);
                    return;
                }
                IoRegistration registration = registered.getNow();
                if (ended) {
                    registration.cancel();
                    return;
                }
                side.registration = registration;
                guarded(() -> {
                    registration.submit(INTEREST);
                    // Bytes may be queued already (a backend that speaks first, the client's next request):
                    // the first edge may have come before the registration, so look now.
                    pump(toBackend);
                    pump(toClient);
                });
            });
        }
        long idle = connection.idleTimeout().toNanos();
        long period = Math.clamp(idle / 8, TimeUnit.MILLISECONDS.toNanos(50), TimeUnit.SECONDS.toNanos(30));
        idleCheck = loop.scheduleAtFixedRate(this::checkIdle, period, period, TimeUnit.NANOSECONDS);
    }

    private void onEvent(Side side, EpollIoOps ops) {
        if (ended) {
            return;
        }
        if (ops.contains(EpollIoOps.EPOLLERR)) {
            int error;
            try {
                error = side.socket.getSoError();
            } catch (IOException | RuntimeException e) {
                error = -1;
            }
            if (error != 0) {
                LOG.debug("{}: socket error {}", side.resetEnd.label(), error);
                end(side.resetEnd, true);
                return;
            }
        }
        // A direction without a pipe has nothing buffered: only news on its source (bytes, an end,
        // an error) can give it work, and only then is it worth a pipe.
        boolean mayHaveInput = ops.without(EpollIoOps.EPOLLOUT).value() != 0;  // EPOLLIN, RDHUP, HUP or ERR
        for (Flow flow : new Flow[] {toBackend, toClient}) {
            if (flow.pipe != null || (flow.source == side && mayHaveInput)) {
                pump(flow);
            }
        }
    }

    /** Moves what it can in one direction, with a pipe held only while the direction needs one. */
    private void pump(Flow flow) {
        if (ended || flow.shut || (flow.pipe == null && !takePipe(flow))) {
            return;
        }
        move(flow);
        if (!ended && flow.pipe != null && flow.inPipe == 0) {
            pipes.giveBack(flow.pipe);
            flow.pipe = null;
        }
    }

    /**
     * Takes a pipe for {@code flow}, or, when none can be made (descriptor limits), leaves the source
     * unread, so that TCP holds its sender back, and comes back after a delay that doubles up to
     * {@link #MAX_PIPE_RETRY_MILLIS}: edge-triggered epoll would not report the waiting bytes again.
     */
    private boolean takePipe(Flow flow) {
        try {
            flow.pipe = pipes.take();
            flow.pipeRetryMillis = 0;
            return true;
        } catch (IOException e) {
            noPipe.accept(connection.stats(), e);
            if (!flow.pipeRetryScheduled) {
                flow.pipeRetryMillis = Math.clamp(flow.pipeRetryMillis * 2L, MIN_PIPE_RETRY_MILLIS, MAX_PIPE_RETRY_MILLIS);
                flow.pipeRetryScheduled = true;
                loop.schedule(() -> {
                    flow.pipeRetryScheduled = false;
                    guarded(() -> pump(flow));
                }, flow.pipeRetryMillis, TimeUnit.MILLISECONDS);
            }
            return false;
        }
    }

    /** Moves what it can in one direction, until the kernel would block or the turn is used up. */
    private void move(Flow flow) {
        long turn = TURN_BYTES;
        while (!ended && !flow.shut) {
            boolean progress = false;
            // The pipe's capacity counts slots, and a slot may hold more than a page of a socket's
            // data: asking for no more than the bytes left is what bounds the bytes held.
            long room = flow.pipe.capacity - flow.inPipe;
            if (!flow.eof && room > 0) {
                long in = Splice.splice(flow.source.number(), flow.pipe.writeFd, room, FLAGS);
                if (in > 0) {
                    flow.inPipe += in;
                    flow.received += in;
                    connection.stats().add(SpliceDataPlane.BUFFERED, in);
                    progress = true;
                } else if (in == 0) {
                    flow.eof = true;
                } else if (in == -Errno.EINTR) {
                    progress = true;
                } else if (in != -Errno.EAGAIN) {
                    failed(flow.source, "from", in);
                    return;
                }
            }
            if (flow.inPipe > 0) {
                long out = Splice.splice(flow.pipe.readFd, flow.target.number(), flow.inPipe, FLAGS);
                if (out > 0) {
                    flow.inPipe -= out;
                    flow.sent += out;
                    connection.stats().add(SpliceDataPlane.BUFFERED, -out);
                    turn -= out;
                    progress = true;
                } else if (out == -Errno.EINTR) {
                    progress = true;
                } else if (out != -Errno.EAGAIN && out != 0) {
                    failed(flow.target, "to", out);
                    return;
                }
            }
            if (flow.eof && flow.inPipe == 0) {
                shutOutput(flow);
                return;
            }
            if (!progress) {
                return;  // the next edge on the source (more bytes) or the target (room) resumes
            }
            if (turn <= 0) {
                loop.execute(() -> guarded(() -> pump(flow)));  // edge-triggered: nothing else would come back here
                return;
            }
        }
    }

    /** Runs a step of the pair; whatever it throws ends the pair (reset) rather than escape to the loop. */
    private void guarded(Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            LOG.warn("listener {}: resetting a spliced connection after an unexpected error", connection.listener(), e);
            end(ConnectionEnd.FORWARDING_ERROR, true);
        }
    }

    private void failed(Side side, String direction, long negativeErrno) {
        LOG.debug("{}: splice {} it failed: {}", side.resetEnd.label(), direction,
                Errno.describe((int) -negativeErrno));
        end(side.resetEnd, true);
    }

    /** Every byte of the source reached the target: carry the end of the stream. */
    private void shutOutput(Flow flow) {
        flow.shut = true;
        try {
            flow.target.socket.shutdown(false, true);
        } catch (IOException | RuntimeException e) {  // ENOTCONN comes as NotYetConnectedException
            LOG.debug("{}: shutdown failed: {}", flow.target.resetEnd.label(), e.toString());
            end(flow.target.resetEnd, true);
            return;
        }
        if (toBackend.shut && toClient.shut) {
            end(ConnectionEnd.CLOSED, false);
        }
    }

    private void checkIdle() {
        long moved = toBackend.received + toBackend.sent + toClient.received + toClient.sent;
        long now = System.nanoTime();
        if (moved != lastMoved) {
            lastMoved = moved;
            lastActivityNanos = now;
        } else if (now - lastActivityNanos >= connection.idleTimeout().toNanos()) {
            end(ConnectionEnd.IDLE_TIMEOUT, false);
        }
    }

    /** Closes every descriptor of the pair, once, and reports the end. */
    private void end(ConnectionEnd how, boolean reset) {
        if (ended) {
            return;
        }
        ended = true;
        if (idleCheck != null) {
            idleCheck.cancel(false);
        }
        // Out of epoll first (synchronous on the loop), so that no later event or EPOLL_CTL_DEL can
        // reach a descriptor number the kernel hands out again.
        for (Side side : new Side[] {client, backend}) {
            if (side.registration != null) {
                side.registration.cancel();
            }
        }
        for (Flow flow : new Flow[] {toBackend, toClient}) {
            connection.stats().add(SpliceDataPlane.BUFFERED, -flow.inPipe);
            if (flow.pipe != null) {
                if (flow.inPipe == 0) {
                    pipes.giveBack(flow.pipe);
                } else {
                    pipes.discard(flow.pipe);  // the bytes of a cut stream must not reach another connection
                }
                flow.pipe = null;
            }
        }
        for (Side side : new Side[] {client, backend}) {
            try {
                if (reset) {
                    side.socket.setSoLinger(0);
                }
            } catch (IOException | RuntimeException e) {
                LOG.debug("SO_LINGER on a socket being reset: {}", e.toString());
            }
            try {
                side.socket.close();
            } catch (IOException | RuntimeException e) {
                LOG.debug("closing a spliced socket: {}", e.toString());
            }
        }
        connection.end("splice", how, toBackend.sent, toClient.sent);
    }

    /** One socket of the pair, registered with the event loop on its own. */
    private final class Side implements EpollIoHandle {
        final Socket socket;
        final ConnectionEnd resetEnd;
        IoRegistration registration;

        Side(Socket socket, ConnectionEnd resetEnd) {
            this.socket = socket;
            this.resetEnd = resetEnd;
        }

        int number() {
            return socket.intValue();
        }

        @Override
        public FileDescriptor fd() {
            return socket;
        }

        @Override
        public void handle(IoRegistration registration, IoEvent event) {
            guarded(() -> onEvent(this, ((EpollIoEvent) event).ops()));
        }

        /** The event loop is shutting down: reset, so that a peer cannot take a cut stream for a whole one. */
        @Override
        public void close() {
            end(ConnectionEnd.SHUTDOWN, true);
        }
    }

    /** One direction: source socket, pipe while it has bytes to move, target socket. */
    private static final class Flow {
        final Side source;
        final Side target;
        Pipe pipe;
        long inPipe;
        long pipeRetryMillis;
        boolean pipeRetryScheduled;
        /** Bytes spliced from the source. */
        long received;
        /** Bytes that entered the target, the consumed first bytes included for the client's direction. */
        long sent;
        boolean eof;
        boolean shut;

        Flow(Side source, Side target, long alreadySent) {
            this.source = source;
            this.target = target;
            this.sent = alreadySent;
        }
    }
}
