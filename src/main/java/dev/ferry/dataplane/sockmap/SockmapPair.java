package dev.ferry.dataplane.sockmap;

import dev.ferry.bpf.BpfException;
import dev.ferry.dataplane.EpollInterest;
import dev.ferry.dataplane.OutputShutdown;
import dev.ferry.dataplane.ResetWatch;
import dev.ferry.handoff.ConnectionEnd;
import dev.ferry.handoff.ProxiedConnection;
import dev.ferry.sys.Errno;
import dev.ferry.sys.SocketIo;
import dev.ferry.sys.Sockets;
import dev.ferry.sys.TcpInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
 *   <li>Held bytes (flow control): when the peer cannot take more, the verdict passes a source's
 *       bytes to the source socket itself, where TCP's window holds the sender back. This class
 *       moves them to the target, but only after every byte redirected before them has entered
 *       the target, and tells the verdict how far it got so that it can redirect again.</li>
 * </ul>
 * The counters: the verdict's redirected and passed bytes; TCP_INFO's bytes_received on the
 * source; bytes_acked plus SIOCOUTQ on the target for what entered it.
 */
final class SockmapPair {
    private static final Logger LOG = LoggerFactory.getLogger(SockmapPair.class);
    private static final SockmapKernel.ConnCounters NOTHING_YET = new SockmapKernel.ConnCounters(0, 0, 0, 0, 0, false, 0);
    /** Flow control at work: holds started, and bytes that crossed user space because of them. */
    private static final String HOLDS = "ferry_sockmap_holds_total";
    private static final String HELD_BYTES = "ferry_sockmap_held_bytes_total";
    /** Bytes of retransmitted segments that the verdict had seen before, cut so they are forwarded once. */
    private static final String SEEN_BYTES_CUT = "ferry_sockmap_seen_bytes_cut_total";
    private static final long MAX_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /**
     * Held bytes moved per recv and send. A direction starts at the small size and doubles it with
     * every chunk the target took whole: a fast peer gets large chunks, which moved a held stream
     * about a fifth faster than small ones (docs/flow-control.md); a full target gets the small size,
     * since what it does not take of a chunk waits in user-space memory until it has room.
     */
    private static final int MIN_HELD_CHUNK = 128 * 1024;
    private static final int MAX_HELD_CHUNK = 512 * 1024;
    /** Held bytes one pass moves at most, so that one connection does not keep its event loop from the others. */
    private static final long HELD_BYTES_PER_PASS = 2 * 1024 * 1024;
    /** With flow control on, bytes the backend-side socket's send queue may hold unsent (TCP_NOTSENT_LOWAT). */
    private static final long MAX_UNSENT = 256 * 1024;
    /** One scratch buffer per event loop thread: held bytes stay in it only within one pass. */
    private static final ThreadLocal<MemorySegment> HELD_SCRATCH =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(MAX_HELD_CHUNK));
    /** Held bytes the peer must have acknowledged before the held source's receive buffer grows to max_in_flight. */
    private static final int READING_PEER_ACKNOWLEDGED = 128 * 1024;

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

    long clientCookie() {
        return client.cookie;
    }

    long backendCookie() {
        return backend.cookie;
    }

    /**
     * Whether every byte the verdict forwarded before the kernel refused the pair has entered its target's
     * send queue, none was held, so that another plane can go on from there. Read after the undo: a redirected
     * byte the undo dropped never enters it.
     */
    boolean forwardedBytesArrived(ForwardedBeforeRefusalException refusal) {
        if (refusal.held()) {
            return false;
        }
        try {
            for (Direction direction : directions) {
                if (!direction.forwardedBytesInTarget(refusal.forwardedFrom(direction.source.cookie))) {
                    return false;
                }
            }
            return true;
        } catch (IOException unreadable) {
            return false;  // not known to have arrived
        }
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
            limitUnsentBytes((int) Math.min(maxInFlight, MAX_UNSENT));
            if (backend != client) {
                kernel.insertPair(client.asKernelSocket(), backend.asKernelSocket(), maxInFlight);
            } else {
                kernel.insertEcho(client.asKernelSocket(), maxInFlight);
            }
        } catch (BpfException | IOException e) {
            kernel.forgetRefused(client.cookie);
            kernel.forgetRefused(backend.cookie);
            try {
                limitUnsentBytes(0);
            } catch (IOException restoreFailed) {
                e.addSuppressed(restoreFailed);
            }
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

    /**
     * With flow control on, the backend-side socket's send queue takes bytes only while fewer than
     * {@code bytes} wait unsent (TCP_NOTSENT_LOWAT; 0 is the system's default): for the verdict's
     * redirects, which it sizes to that room, and for user space's writes of held bytes alike. A
     * stalled backend then leaves that much in Ferry's send queue, not the whole send buffer, which
     * TCP grows to 4 MiB before the backend's window closes. The client side keeps the default: there
     * the smaller room held a client's downstream whenever the client read a little slower than the
     * backend wrote, and moved all of it through user space (docs/flow-control.md).
     */
    private void limitUnsentBytes(int bytes) throws IOException {
        if (maxInFlight == 0 || backend == client) {
            return;
        }
        Sockets.setUnsentLowWatermark(backend.fd, bytes);
    }

    private void scheduleIdleCheck() {
        long idle = connection.idleTimeout().toNanos();
        long period = Math.clamp(idle / 8, TimeUnit.MILLISECONDS.toNanos(50), TimeUnit.SECONDS.toNanos(30));
        idleCheck = client.channel.eventLoop().scheduleAtFixedRate(this::checkIdle, period, period, TimeUnit.NANOSECONDS);
    }

    private void checkIdle() {
        long forwarded = 0;
        for (Direction direction : directions) {
            SockmapKernel.ConnCounters counters = counters(direction.source);
            // The verdict can have counted too much only if it counted something since the last look:
            // an idle connection costs no TCP_INFO call.
            long counted = counters.redirectedBytes() + counters.passedBytes();
            if (counted != direction.countedAtIdleCheck) {
                direction.countedAtIdleCheck = counted;
                if (!countsWithinArrived(direction, counters)) {
                    return;
                }
            }
            forwarded += counters.redirectedBytes() + direction.userWritten;
            if (counters.passedBytes() > direction.userWritten && !direction.drainScheduled) {
                // Held bytes nobody is moving: their hold event was lost (a full ring buffer).
                drainHeld(direction, 0);
            }
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

    /** The verdict started holding the source's bytes: move them, in order, to the target. */
    private void startDraining(Direction direction) {
        if (ended || direction.eof) {
            return;
        }
        try {
            if (!direction.receiveBufferSized) {
                direction.receiveBufferSized = true;
                if (backend != client && !Sockets.receiveBufferFixed(direction.source.fd)) {
                    long held = Math.min(Sockets.receiveBuffer(direction.source.fd), maxInFlight);
                    Sockets.setReceiveBuffer(direction.source.fd, (int) held);
                    direction.raiseReceiveBufferAt = held < maxInFlight
                            ? direction.userWritten + READING_PEER_ACKNOWLEDGED : Long.MAX_VALUE;
                }
            }
        } catch (IOException e) {
            socketStateUnreadable(direction, e);
            return;
        }
        connection.stats().increment(HOLDS);
        drainHeld(direction, 0);
    }

    /**
     * Held bytes wait in the source's receive buffer, so that buffer is what bounds them. At the
     * first hold it is fixed at the size TCP had tuned it to, or max_in_flight if that is smaller, which
     * stops autotuning from growing it further. It is not made smaller than TCP had it: shrinking it under
     * a window already advertised makes TCP drop segments (fact 8), and the sender then waits on its
     * retransmission timer. Once the peer has acknowledged 128 KiB of held bytes it is a peer that reads,
     * and the buffer grows to max_in_flight, so that user space can keep up with a fast sender instead of
     * waiting on its zero-window probes (facts 7-9). The size stays fixed from then on; handing it back to
     * autotuning cost bulk streams most of their throughput. A size the operator fixed ({@code
     * socket_buffers}) is left alone, and so is an echo's socket (its own peer), which keeps autotuning:
     * its own redirected skbs wait in the same psock queue as its held bytes, which then outgrow any fixed
     * size (fact 6). A size fixed at 4 MiB from the start made 8 of 25 echoes of 64 MiB each way take over
     * 6 s; with autotuning, 1 of 50 took over 1 s (3.4 s).
     */
    private void raiseReceiveBufferOnceThePeerReads(Direction direction) {
        if (direction.userWritten < direction.raiseReceiveBufferAt) {
            return;
        }
        int size = (int) Math.min(maxInFlight, Integer.MAX_VALUE);
        try {
            // Written is not yet taken: the target's send queue takes up to MAX_UNSENT even from a peer
            // that reads nothing. What the queue still holds may include redirected bytes: an underestimate.
            long acknowledged = direction.userWritten - Sockets.unsentAndUnacked(direction.target.fd);
            if (acknowledged < direction.raiseReceiveBufferAt) {
                return;
            }
            direction.raiseReceiveBufferAt = Long.MAX_VALUE;
            Sockets.setReceiveBuffer(direction.source.fd, size);
        } catch (IOException e) {
            socketStateUnreadable(direction, e);
        }
    }

    /**
     * Moves held bytes from the source to the target, a chunk at a time. The chunk that can catch up
     * with the verdict is peeked, sent, published as how far user space got ({@code drained}), and only
     * then consumed: the source's window reopens only after the verdict can see that user space caught
     * up, so the bytes the sender pushes in answer can take the kernel path again instead of queueing
     * behind the held ones. A chunk with more held bytes behind it cannot end the hold, so it is
     * received at once and sent, one copy fewer: a held stream moved about a quarter faster so
     * (docs/flow-control.md).
     *
     * <p>Until every byte redirected before the held ones has entered the target, nothing is sent:
     * the held bytes would overtake them. When the target is full, the rest of the chunk is handed to
     * Netty, which writes it when there is room and then resumes here.
     */
    private void drainHeld(Direction direction, int attempt) {
        direction.drainScheduled = false;
        if (ended || direction.writing || direction.hasPending()) {
            return;  // a write in progress resumes draining when it completes
        }
        MemorySegment scratch = HELD_SCRATCH.get();
        long readBefore = direction.userRead;
        try {
            while (direction.userRead - readBefore < HELD_BYTES_PER_PASS) {
                SockmapKernel.ConnCounters counters = counters(direction.source);
                boolean mayCatchUp = counters.passedBytes() - direction.userRead <= direction.heldChunk;
                if (!mayCatchUp && !direction.redirectedBytesInTarget(counters.redirectedBytes())) {
                    scheduleDrain(direction, direction.userRead > readBefore ? 0 : attempt + 1);
                    return;
                }
                long read = SocketIo.receive(direction.source.fd, scratch.asSlice(0, direction.heldChunk),
                        mayCatchUp ? SocketIo.MSG_PEEK : 0);
                if (read == -Errno.EAGAIN || read == 0) {
                    break;
                }
                if (read < 0) {
                    throw new IOException("recv failed: " + Errno.describe((int) -read));
                }
                if (mayCatchUp) {
                    // Read again after the peek: it may have taken bytes the verdict held since, and the
                    // redirects before those.
                    counters = counters(direction.source);
                    if (direction.userRead + read > counters.passedBytes()) {
                        readPastTheVerdict(direction, counters);
                        return;
                    }
                    if (!direction.redirectedBytesInTarget(counters.redirectedBytes())) {
                        scheduleDrain(direction, direction.userRead > readBefore ? 0 : attempt + 1);
                        return;
                    }
                } else {
                    direction.userRead += read;  // no more than the verdict had held when counted
                }
                if (!sendHeldChunk(direction, scratch.asSlice(0, read), mayCatchUp)) {
                    return;
                }
            }
        } catch (IOException e) {
            socketStateUnreadable(direction, e);
            return;
        }
        SockmapKernel.ConnCounters counters = counters(direction.source);
        if (!countsWithinArrived(direction, counters)) {
            return;
        }
        if (direction.userWritten < counters.passedBytes()) {
            // More was held: still queued for the source socket, or a pass ended at its byte limit.
            scheduleDrain(direction, direction.userRead > readBefore ? 0 : attempt + 1);
            return;
        }
        // Caught up: the kernel forwards again, and a new hold announces itself.
        if (direction.eof) {
            drain(direction, 0);
        }
    }

    /**
     * Sends one chunk read from the source, publishes how far user space got, and consumes the chunk if it was
     * only peeked. False when this pass must stop: the pair ended, or the target is full and Netty writes the
     * rest when it has room, then resumes draining.
     */
    private boolean sendHeldChunk(Direction direction, MemorySegment chunk, boolean peeked) throws IOException {
        long sent = SocketIo.send(direction.target.fd, chunk);
        if (sent < 0 && sent != -Errno.EAGAIN) {
            LOG.debug("{}: send failed: {}", direction.target.resetEnd.label(), Errno.describe((int) -sent));
            end(direction.target.resetEnd, true);
            return false;
        }
        sent = Math.max(0, sent);
        if (sent > 0) {
            heldBytesWritten(direction, sent);
        }
        if (peeked) {
            consume(direction, chunk);
        }
        boolean whole = sent == chunk.byteSize();
        direction.heldChunk = whole ? Math.min(2 * direction.heldChunk, MAX_HELD_CHUNK) : MIN_HELD_CHUNK;
        if (whole) {
            return true;
        }
        ByteBuf rest = direction.source.channel.alloc().directBuffer((int) (chunk.byteSize() - sent));
        rest.writeBytes(chunk.asSlice(sent).asByteBuffer());
        direction.addPending(rest);
        flush(direction, 0);
        return false;
    }

    /** Consumes exactly the bytes peeked into {@code peeked}, which recv writes over with themselves. */
    private void consume(Direction direction, MemorySegment peeked) throws IOException {
        long remaining = peeked.byteSize();
        while (remaining > 0) {
            long taken = SocketIo.receive(direction.source.fd,
                    peeked.asSlice(peeked.byteSize() - remaining, remaining), 0);
            if (taken <= 0) {
                throw new IOException("recv of peeked bytes returned " + (taken == 0 ? "end of stream"
                        : Errno.describe((int) -taken)));
            }
            remaining -= taken;
        }
        direction.userRead += peeked.byteSize();
    }

    private void scheduleDrain(Direction direction, int attempt) {
        if (direction.drainScheduled) {
            return;
        }
        direction.drainScheduled = true;
        retryLater(direction.source, attempt, () -> drainHeld(direction, attempt));
    }

    /** False, with the pair reset, when the verdict counted more bytes than TCP received so far. */
    private boolean countsWithinArrived(Direction direction, SockmapKernel.ConnCounters counters) {
        try {
            // bytes_received read after the counters, and counting a FIN if one came: never too small.
            long arrived = Sockets.tcpInfo(direction.source.fd).bytesReceived() - direction.source.consumed;
            return !verdictSawMoreThanArrived(direction, counters, arrived);
        } catch (IOException e) {
            socketStateUnreadable(direction, e);
            return false;
        }
    }

    /**
     * The verdict counted more bytes than TCP received on the source: it was handed bytes it had
     * seen before and could not cut them (docs/flow-control.md, fact 10), and the copy went to the
     * target. The stream is broken; reset it, never let it end as if whole or wait for an end that
     * cannot be matched.
     */
    private boolean verdictSawMoreThanArrived(Direction direction, SockmapKernel.ConnCounters counters, long arrived) {
        long counted = counters.redirectedBytes() + counters.passedBytes();
        if (counted <= arrived) {
            return false;
        }
        LOG.error("listener {}: cluster {}: the kernel handed the verdict {} byte(s) more than TCP received from the {}"
                        + " (bytes seen twice that the verdict could not cut); resetting",
                connection.listener(), connection.cluster(), counted - arrived,
                direction.source.role());
        end(ConnectionEnd.FORWARDING_ERROR, true);
        return true;
    }

    private void readPastTheVerdict(Direction direction, SockmapKernel.ConnCounters counters) {
        LOG.error("listener {}: cluster {}: {} redirect failure(s), {} byte(s) read past the verdict; resetting",
                connection.listener(), connection.cluster(), counters.redirectFailures(),
                Math.max(0, direction.userRead - counters.passedBytes()));
        end(ConnectionEnd.FORWARDING_ERROR, true);
    }

    /** Bytes the verdict held that Netty read itself: it reads to the end once the FIN is in. */
    private void heldBytesRead(Direction direction, ByteBuf bytes) {
        direction.userRead += bytes.readableBytes();
        direction.addPending(bytes);
        flush(direction, 0);
    }

    /**
     * Writes the held bytes read so far to the target, once every byte redirected before them has
     * entered the target's send queue: until then they would overtake it.
     */
    private void flush(Direction direction, int attempt) {
        if (ended || direction.writing || !direction.hasPending()) {
            return;
        }
        try {
            if (!direction.redirectedBytesInTarget(counters(direction.source).redirectedBytes())) {
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
            heldBytesWritten(direction, length);
            afterHeldBytesWritten(direction);
        });
    }

    /** Tells the verdict how far user space got, so that it can redirect again once it caught up. */
    private void heldBytesWritten(Direction direction, long bytes) {
        direction.userWritten += bytes;
        if (!ended) {  // after end() the entry is gone, and setting it would make it again
            kernel.setDrained(direction.source.cookie, direction.userWritten);
            direction.source.drainedSet = true;
        }
        connection.stats().add(HELD_BYTES, bytes);
        raiseReceiveBufferOnceThePeerReads(direction);
    }

    private void afterHeldBytesWritten(Direction direction) {
        if (ended) {
            return;
        }
        if (direction.hasPending()) {
            flush(direction, 0);
        } else if (direction.eof) {
            drain(direction, 0);
        } else {
            drainHeld(direction, 0);
        }
    }

    /** After the source's FIN: shut the target's output once everything before it was delivered. */
    private void drain(Direction direction, int attempt) {
        if (ended || direction.shut) {
            return;
        }
        SockmapKernel.ConnCounters counters = counters(direction.source);
        try {
            if (counters.redirectFailures() > 0 || direction.userRead > counters.passedBytes()) {
                readPastTheVerdict(direction, counters);
                return;
            }
            long arrived = direction.source.payloadReceivedAtEof() - direction.source.consumed;
            if (verdictSawMoreThanArrived(direction, counters, arrived)) {
                return;
            }
            if (direction.delivered(counters, arrived)) {
                direction.shut = true;
                try {
                    OutputShutdown.shut(direction.target.channel);
                } catch (IOException e) {
                    // Every byte was delivered and acknowledged: a target gone since has nothing left to miss.
                    LOG.debug("{}: cannot shut its output: {}", direction.target.resetEnd.label(), e.toString());
                }
                if (directions.stream().allMatch(d -> d.shut)) {
                    end(ConnectionEnd.CLOSED, false);
                } else {
                    stopWatchingIfShutBothWays(direction.target);
                }
                return;
            }
            if (Sockets.tcpInfo(direction.target.fd).state() == TcpInfo.CLOSE) {
                // Reset while its output was still open: what was not delivered never will be. Netty
                // does not report it once the socket's input has ended.
                LOG.debug("{}: reset while the end of the stream was being delivered", direction.target.resetEnd.label());
                end(direction.target.resetEnd, true);
                return;
            }
        } catch (IOException e) {
            socketStateUnreadable(direction, e);
            return;
        }
        if (!direction.writing && !direction.hasPending()) {
            if (counters.passedBytes() > direction.userRead) {
                // Held bytes the FIN overtook on their way to the source socket: move them first.
                scheduleDrain(direction, 0);
            }
            retryLater(direction.source, attempt, () -> drain(direction, attempt + 1));
        }
    }

    /** A socket whose input ended and whose output Ferry shut has nothing more to report. */
    private void stopWatchingIfShutBothWays(Side side) {
        boolean inputEnded = directions.stream().anyMatch(d -> d.source == side && d.eof);
        boolean outputShut = directions.stream().anyMatch(d -> d.target == side && d.shut);
        if (inputEnded && outputShut && !ended) {
            EpollInterest.stopWatching(side.channel);
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
        SockmapKernel.ConnCounters fromClient = counters(client);
        SockmapKernel.ConnCounters fromBackend = backend == client ? NOTHING_YET : counters(backend);
        long bytesToBackend = connection.consumedFromClient() + fromClient.redirectedBytes() + toBackend.userWritten;
        long bytesToClient = backend == client ? bytesToBackend : fromBackend.redirectedBytes() + toClient.userWritten;
        long seenBytesCut = fromClient.seenBytesCut() + fromBackend.seenBytesCut();
        if (seenBytesCut > 0) {
            connection.stats().add(SEEN_BYTES_CUT, seenBytesCut);
        }
        for (Direction direction : directions) {
            direction.releasePending();
        }
        for (Side side : backend == client ? List.of(client) : List.of(client, backend)) {
            if (side.resetWatch != null) {
                side.resetWatch.close();
            }
            if (reset && side.channel.isOpen()) {
                side.channel.config().setOption(ChannelOption.SO_LINGER, 0);
            }
            side.channel.close();
            if (inserted) {
                kernel.forgetClosed(side.cookie, side.drainedSet);
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
        /** From the end of its input on: Netty no longer reports a reset of this socket. */
        ResetWatch resetWatch;
        /** Whether its drained entry was made: only a socket whose held bytes Ferry wrote has one. */
        boolean drainedSet;

        Side(Channel channel, long consumed, ConnectionEnd resetEnd) {
            this.channel = channel;
            this.fd = ((UnixChannel) channel).fd().intValue();
            this.consumed = consumed;
            this.resetEnd = resetEnd;
        }

        /**
         * Reads the socket's cookie and send baseline, refusing first a socket the kernel would refuse:
         * trying costs a psock made and torn down, and a dozen map calls undone.
         */
        void measureBaseline() throws IOException {
            TcpInfo info = Sockets.tcpInfo(fd);
            if (info.state() != TcpInfo.ESTABLISHED) {
                throw new NotEstablishedException(role(), info.state());
            }
            cookie = Sockets.cookie(fd);
            sendBaseline = enqueuedForSending(info.bytesAcked());
        }

        /** "client" or "backend", for messages; the echo's one socket is the client. */
        String role() {
            return resetEnd == ConnectionEnd.CLIENT_RESET ? "client" : "backend";
        }

        SockmapKernel.Socket asKernelSocket() {
            return new SockmapKernel.Socket(fd, cookie, sendBaseline);
        }

        /**
         * Bytes (plus SYN and FIN) that ever entered this socket's send queue: acknowledged ones plus
         * those still queued. Read until bytes_acked is stable around SIOCOUTQ, so that an ACK landing
         * between the two reads cannot shift bytes from one term to the other; {@code ackedBefore} is
         * bytes_acked read just before.
         */
        private long enqueuedForSending(long ackedBefore) throws IOException {
            long acked = ackedBefore;
            while (true) {
                long queued = Sockets.unsentAndUnacked(fd);
                long ackedAfter = Sockets.tcpInfo(fd).bytesAcked();
                if (ackedAfter == acked) {
                    return acked + queued;
                }
                acked = ackedAfter;
            }
        }

        /**
         * At least how many bytes entered the send queue since the baseline, from one read of each
         * counter: bytes_acked grows exactly as snd_una does, so bytes_acked read before SIOCOUTQ
         * can only make the sum smaller than the truth. Cheap, and safe for every "has everything
         * entered?" check, where the loop of {@link #enqueuedForSending(long)} could spin for as long as
         * ACKs keep arriving under a fast stream.
         */
        long enqueuedSinceBaseline() throws IOException {
            long acked = Sockets.tcpInfo(fd).bytesAcked();
            return acked + Sockets.unsentAndUnacked(fd) - sendBaseline;
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
        /** Held bytes read but not yet handed to a write; made when first needed, as most pairs never hold. */
        private CompositeByteBuf pending;
        long userRead;
        long userWritten;
        /** The source's receive buffer was sized for holding, at the first hold. */
        boolean receiveBufferSized;
        /** Once userWritten reaches this, the source's receive buffer grows to max_in_flight. */
        long raiseReceiveBufferAt = Long.MAX_VALUE;
        /** Redirected bytes known to be in the target's send queue: no need to look again. */
        long redirectedSeenInTarget = -1;
        /** The verdict's redirected plus passed bytes when the idle check last compared them with TCP's count. */
        long countedAtIdleCheck;
        /** How many held bytes the next recv and send move. */
        int heldChunk = MIN_HELD_CHUNK;
        /** A {@link #drainHeld} pass is scheduled. */
        boolean drainScheduled;
        boolean writing;
        boolean eof;
        boolean shut;

        Direction(Side source, Side target) {
            this.source = source;
            this.target = target;
        }

        boolean hasPending() {
            return pending != null && pending.isReadable();
        }

        void addPending(ByteBuf bytes) {
            if (pending == null) {
                pending = source.channel.alloc().compositeBuffer(64);
            }
            pending.addComponent(true, bytes);
        }

        void releasePending() {
            if (pending != null) {
                pending.release();
                pending = null;
            }
        }

        /** The held bytes read so far (there are some: {@link #hasPending}); the next ones start a new buffer. */
        ByteBuf takePending() {
            CompositeByteBuf taken = pending;
            pending = null;
            return taken;
        }

        /**
         * True when every byte the source received after the handoff ({@code arrived}) was redirected,
         * or held and then written by user space, and every one of them is in the target's send queue.
         */
        boolean delivered(SockmapKernel.ConnCounters counters, long arrived) throws IOException {
            if (arrived != counters.redirectedBytes() + counters.passedBytes()) {
                return false;
            }
            if (userWritten != counters.passedBytes() || writing || hasPending()) {
                return false;
            }
            return forwardedBytesInTarget(counters.redirectedBytes());
        }

        /**
         * True when every byte forwarded so far, the verdict's {@code redirected} ones and those user
         * space wrote, has entered the target's send queue: held bytes written now cannot overtake any.
         */
        boolean forwardedBytesInTarget(long redirected) throws IOException {
            return target.enqueuedSinceBaseline() >= redirected + userWritten;
        }

        /**
         * True when the verdict's {@code redirected} bytes have entered the target: held bytes the verdict passed
         * before they were counted may be written. Looked up only when a new redirect came since the last yes.
         */
        boolean redirectedBytesInTarget(long redirected) throws IOException {
            if (redirected == redirectedSeenInTarget) {
                return true;  // stays true while no new redirect comes: every byte user space writes enters the target
            }
            if (!forwardedBytesInTarget(redirected)) {
                return false;
            }
            redirectedSeenInTarget = redirected;
            return true;
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
                boolean stillWrittenTo = directions.stream().anyMatch(d -> d.target == side && !d.shut);
                if (side.resetWatch == null && stillWrittenTo) {
                    side.resetWatch = ResetWatch.start(side.channel, () -> {
                        LOG.debug("{}: reset after its end of stream", side.resetEnd.label());
                        end(side.resetEnd, true);
                    });
                }
                Direction direction = from();
                if (!direction.eof) {
                    direction.eof = true;
                    stopWatchingIfShutBothWays(side);
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
