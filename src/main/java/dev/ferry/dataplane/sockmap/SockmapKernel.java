package dev.ferry.dataplane.sockmap;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.ferry.bpf.AttachType;
import dev.ferry.bpf.BpfException;
import dev.ferry.bpf.BpfMap;
import dev.ferry.bpf.BpfObject;
import dev.ferry.bpf.BpfProgram;
import dev.ferry.bpf.BpfRingBuffer;
import dev.ferry.sys.Sockets;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Optional;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kernel side of the sockmap data plane: the loaded ferry.bpf.o with its verdict program
 * attached. One instance per process. Thread-safe; {@link #close()} waits for calls in progress,
 * so that no map operation ever runs on an fd number that was closed and reused.
 */
public final class SockmapKernel implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SockmapKernel.class);
    private static final String OBJECT_RESOURCE = "/bpf/ferry.bpf.o";
    private static final long CONN_SIZE = 80;  // struct conn: ten __u64 (next_seq, at 64, is the verdict's own):
    private static final long PEER_COOKIE = 0, MAX_IN_FLIGHT = 8, PEER_SEND_BASE = 16, REDIRECTED_BYTES = 24,
            REDIRECTED_SKBS = 32, REDIRECT_FAILURES = 40, PASSED_BYTES = 48, HELD = 56, SEEN_BYTES_CUT = 72;

    private final BpfObject object;
    private final BpfMap sockSources;
    private final BpfMap sockTargets;
    private final BpfMap conns;
    private final BpfMap drained;
    private final BpfProgram verdict;
    private final Map<Long, Runnable> holdListeners = new ConcurrentHashMap<>();
    private BpfRingBuffer holdEvents;  // set once, right after construction
    private final ReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed;  // written under lifecycle's write lock, read under its read lock

    /**
     * The program's {@code struct conn} for one socket.
     *
     * @param peerCookie       the socket whose egress gets this socket's bytes (itself for an echo)
     * @param redirectedBytes  bytes this socket received that were redirected to the peer's egress
     * @param redirectedSkbs   skbs redirected
     * @param redirectFailures skbs whose redirect failed, which the kernel dropped
     * @param passedBytes      bytes held back for user space to forward (flow control)
     * @param held             whether the verdict is holding this socket's bytes right now
     * @param seenBytesCut     bytes the verdict cut from retransmitted skbs because it had seen them before
     */
    public record ConnCounters(long peerCookie, long redirectedBytes, long redirectedSkbs, long redirectFailures,
                               long passedBytes, boolean held, long seenBytesCut) {}

    /** Entries in each of the program's maps; all zero when nothing leaked. */
    public record MapOccupancy(int sockSources, int sockTargets, int conns, int drained) {
        public boolean isEmpty() {
            return sockSources == 0 && sockTargets == 0 && conns == 0 && drained == 0;
        }
    }

    private SockmapKernel(BpfObject object, BpfMap sockSources, BpfMap sockTargets, BpfMap conns, BpfMap drained,
                          BpfProgram verdict) {
        this.object = object;
        this.sockSources = sockSources;
        this.sockTargets = sockTargets;
        this.conns = conns;
        this.drained = drained;
        this.verdict = verdict;
    }

    /** Loads the program with room for {@code maxSockets} sockets and attaches the verdict. */
    public static SockmapKernel load(int maxSockets) throws BpfException {
        if (maxSockets < 1) {
            throw new IllegalArgumentException("maxSockets must be positive: " + maxSockets);
        }
        BpfObject object = BpfObject.open("ferry", shippedObject());
        try {
            BpfMap sockSources = object.map("sock_sources");
            BpfMap sockTargets = object.map("sock_targets");
            BpfMap conns = object.map("conns");
            BpfMap drained = object.map("drained");
            for (BpfMap map : new BpfMap[] {sockSources, sockTargets, conns, drained}) {
                map.setMaxEntries(maxSockets);
            }
            BpfProgram verdict = object.program("ferry_verdict");
            object.load();
            SockmapKernel kernel = new SockmapKernel(object, sockSources, sockTargets, conns, drained, verdict);
            kernel.holdEvents = BpfRingBuffer.start(object.map("hold_events"), kernel::holdStarted, "ferry-hold-events");
            try {
                verdict.attach(sockSources, AttachType.SK_SKB_VERDICT);
            } catch (BpfException e) {
                kernel.holdEvents.close();
                throw e;
            }
            return kernel;
        } catch (BpfException | RuntimeException e) {
            object.close();
            throw e;
        }
    }

    /**
     * Makes the kernel forward every byte either socket receives to the other's egress, and
     * processes the bytes already queued on them (by setting SO_RCVLOWAT, which re-runs the
     * data-ready callback; without it those bytes would stay stranded). On failure nothing of
     * the pair is left in the maps.
     *
     * @throws BpfException e.g. EOPNOTSUPP when a socket is no longer ESTABLISHED (its peer sent
     *                      FIN), EEXIST when a socket is already in; nothing was forwarded yet
     * @throws ForwardedBeforeRefusalException when the kernel refused the second socket after the verdict
     *                      had forwarded or held bytes of the first; the entries are undone
     * @throws IOException  if SO_RCVLOWAT could not be set: the sockets had been in the maps, so
     *                      bytes may have been forwarded already; reset the connection rather
     *                      than hand it to another data plane
     */
    public void insertPair(int fdA, long cookieA, int fdB, long cookieB) throws BpfException, IOException {
        insertPair(new Socket(fdA, cookieA, 0), new Socket(fdB, cookieB, 0), 0);
    }

    /**
     * One socket of a pair: its fd, its cookie, and the bytes that had entered its send queue at
     * the handoff (bytes_acked + SIOCOUTQ), from which the verdict measures what is in flight
     * towards it.
     */
    public record Socket(int fd, long cookie, long sendBase) {}

    /**
     * Like {@link #insertPair(int, long, int, long)}, with flow control: per direction, the bytes
     * sent towards a socket and not yet acknowledged by its far end stay under
     * {@code maxInFlight} (0: no limit), and above it the sender's bytes are held for user space.
     */
    public void insertPair(Socket a, Socket b, long maxInFlight) throws BpfException, IOException {
        if (a.cookie() == b.cookie()) {
            throw new IllegalArgumentException("a pair needs two sockets; use insertEcho for one");
        }
        insert(new Member[] {new Member(a.fd(), a.cookie(), b.cookie(), b.sendBase(), maxInFlight),
                new Member(b.fd(), b.cookie(), a.cookie(), a.sendBase(), maxInFlight)});
    }

    /** Makes the kernel send every byte the socket receives back out of it; see {@link #insertPair}. */
    public void insertEcho(int fd, long cookie) throws BpfException, IOException {
        insertEcho(new Socket(fd, cookie, 0), 0);
    }

    public void insertEcho(Socket socket, long maxInFlight) throws BpfException, IOException {
        insert(new Member[] {new Member(socket.fd(), socket.cookie(), socket.cookie(), socket.sendBase(), maxInFlight)});
    }

    private record Member(int fd, long cookie, long peerCookie, long peerSendBase, long maxInFlight) {}

    /** Runs between the pair's two sock_sources insertions: where a test makes the kernel refuse the second. */
    volatile Runnable betweenSources = () -> { };

    private void insert(Member[] members) throws BpfException, IOException {
        lifecycle.readLock().lock();
        Deque<Undo> done = new ArrayDeque<>();
        try (Arena arena = Arena.ofConfined()) {
            ensureOpen();
            MemorySegment conn = arena.allocate(CONN_SIZE, 8);  // zeroed counters
            for (Member m : members) {
                conn.set(JAVA_LONG, PEER_COOKIE, m.peerCookie());
                conn.set(JAVA_LONG, MAX_IN_FLIGHT, m.maxInFlight());
                conn.set(JAVA_LONG, PEER_SEND_BASE, m.peerSendBase());
                conns.update(arena.allocateFrom(JAVA_LONG, m.cookie()), conn, BpfMap.NO_EXIST);
                done.push(() -> conns.delete(m.cookie()));
            }
            // Targets before sources: the verdict may run as soon as a socket is in sock_sources,
            // and then its peer must already be a redirect target, or its bytes would be dropped.
            for (Member m : members) {
                sockTargets.update(m.cookie(), m.fd(), BpfMap.NO_EXIST);
                done.push(() -> sockTargets.delete(m.cookie()));
            }
            insertSources(members, done, arena);
            for (Member m : members) {
                try {
                    Sockets.setReceiveLowWatermark(m.fd(), 1);
                } catch (IOException e) {
                    throw new KickFailedException(e);
                }
            }
        } catch (BpfException | IOException | RuntimeException e) {
            undo(done, e);
            throw e;
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * Puts the members into sock_sources, where the verdict runs for them. The kernel can still refuse the
     * second socket after the first is in (EOPNOTSUPP: it received its peer's FIN meanwhile), and the verdict
     * may have forwarded the first one's bytes by then: those are reported, not silently left behind.
     */
    private void insertSources(Member[] members, Deque<Undo> done, Arena arena) throws BpfException, IOException {
        int live = 0;
        try {
            for (Member m : members) {
                sockSources.update(m.cookie(), m.fd(), BpfMap.NO_EXIST);
                done.push(() -> sockSources.delete(m.cookie()));
                live++;
                if (live < members.length) {
                    betweenSources.run();
                }
            }
        } catch (BpfException refused) {
            if (live == 0) {
                throw refused;  // no verdict ran: undoing the entries is all
            }
            for (int i = 0; i < live; i++) {
                undoOne(done.pop(), refused);  // the verdict stops first, so its counters no longer move
            }
            ForwardedBeforeRefusalException forwarded = forwardedMeanwhile(members, refused, arena);
            if (forwarded != null) {
                throw forwarded;
            }
            throw refused;
        }
    }

    /** What the verdict forwarded and held for the members before the refusal, or null if nothing. */
    private ForwardedBeforeRefusalException forwardedMeanwhile(Member[] members, BpfException refused, Arena arena)
            throws BpfException {
        Map<Long, Long> forwarded = new HashMap<>();
        boolean held = false;
        MemorySegment conn = arena.allocate(CONN_SIZE, 8);
        for (Member m : members) {
            if (!conns.lookup(m.cookie(), conn)) {
                continue;
            }
            long redirected = conn.get(JAVA_LONG, REDIRECTED_BYTES);
            long passed = conn.get(JAVA_LONG, PASSED_BYTES);
            if (redirected != 0 || passed != 0) {
                forwarded.put(m.cookie(), redirected);
                held |= passed != 0;
            }
        }
        return forwarded.isEmpty() ? null : new ForwardedBeforeRefusalException(refused, forwarded, held);
    }

    /**
     * SO_RCVLOWAT could not be set after the sockets were in the maps: bytes may have been forwarded
     * already, and a socket that was in a sockmap must not be spliced. Reset such a connection.
     */
    public static final class KickFailedException extends IOException {
        KickFailedException(IOException cause) {
            super(cause.getMessage(), cause);
        }
    }

    @FunctionalInterface
    private interface Undo {
        boolean run() throws BpfException;
    }

    private static void undo(Deque<Undo> done, Exception cause) {
        while (!done.isEmpty()) {
            undoOne(done.pop(), cause);
        }
    }

    private static void undoOne(Undo step, Exception cause) {
        try {
            step.run();
        } catch (BpfException | RuntimeException e) {  // keep undoing: leave as little behind as possible
            cause.addSuppressed(e);
        }
    }

    // Lookups, deletes and key walks on maps of a loaded object fail only through a bug (ENOENT,
    // the one expected errno, is an answer, not a failure), so the calls below throw unchecked.

    /** The program's counters for a socket, or empty if it is not in the data plane. */
    public Optional<ConnCounters> counters(long cookie) {
        lifecycle.readLock().lock();
        try (Arena arena = Arena.ofConfined()) {
            ensureOpen();
            MemorySegment conn = arena.allocate(CONN_SIZE, 8);
            if (!conns.lookup(cookie, conn)) {
                return Optional.empty();
            }
            return Optional.of(new ConnCounters(conn.get(JAVA_LONG, PEER_COOKIE), conn.get(JAVA_LONG, REDIRECTED_BYTES),
                    conn.get(JAVA_LONG, REDIRECTED_SKBS), conn.get(JAVA_LONG, REDIRECT_FAILURES),
                    conn.get(JAVA_LONG, PASSED_BYTES), conn.get(JAVA_LONG, HELD) != 0,
                    conn.get(JAVA_LONG, SEEN_BYTES_CUT)));
        } catch (BpfException e) {
            throw unexpected(e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * Forgets a socket whose insertion failed: the insertion undid its map entries itself, so only
     * its hold listener is left.
     */
    public void forgetRefused(long cookie) {
        holdListeners.remove(cookie);
    }

    /**
     * Forgets a socket that was closed: the kernel dropped it from the sockhashes as it closed, but
     * never drops its conns entry, nor the drained entry that {@link #setDrained} made if it was called.
     */
    public void forgetClosed(long cookie, boolean drainedSet) {
        if (drainedSet) {
            forget(cookie, conns, drained);
        } else {
            forget(cookie, conns);
        }
    }

    /**
     * Takes one socket out of the data plane. Missing entries are fine: the kernel drops a
     * closed socket from the sockhashes by itself (but never from conns, hence this call).
     */
    public void remove(long cookie) {
        forget(cookie, sockSources, sockTargets, conns, drained);
    }

    /** Drops the socket's hold listener and its entries in {@code maps}; missing entries are fine. */
    private void forget(long cookie, BpfMap... maps) {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            holdListeners.remove(cookie);
            for (BpfMap map : maps) {
                map.delete(cookie);
            }
        } catch (BpfException e) {
            throw unexpected(e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * Tells the verdict how many of this socket's held bytes user space has written to the peer;
     * once that equals what it held and the peer has room, the kernel forwards again. The entry is made
     * by the first call (the verdict reads a missing one as 0), so that a pair that never holds costs no
     * update and no delete; a call after {@link #forgetClosed} would make it again, so the caller must not
     * call it for a socket it closed.
     */
    public void setDrained(long cookie, long bytes) {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            drained.update(cookie, bytes, BpfMap.ANY);
        } catch (BpfException e) {
            throw unexpected(e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * Runs {@code listener} (on the ring buffer's thread: it must only hand off) each time the
     * verdict starts holding this socket's bytes. {@link #remove} unregisters it.
     */
    public void onHold(long cookie, Runnable listener) {
        holdListeners.put(cookie, listener);
    }

    private void holdStarted(MemorySegment event) {
        Runnable listener = holdListeners.get(event.get(JAVA_LONG, 0));
        if (listener != null) {
            listener.run();
        }
    }

    /** Walks all four maps: for gauges and leak checks, not for every connection. */
    public MapOccupancy occupancy() {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            return new MapOccupancy(sockSources.countEntries(), sockTargets.countEntries(), conns.countEntries(),
                    drained.countEntries());
        } catch (BpfException e) {
            throw unexpected(e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private static IllegalStateException unexpected(BpfException e) {
        return new IllegalStateException("unexpected failure on a loaded map: " + e.getMessage(), e);
    }

    /** Detaches the verdict and closes the program and maps; sockets still inserted leave them. Idempotent. */
    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            holdEvents.close();
            try {
                verdict.detach(sockSources, AttachType.SK_SKB_VERDICT);
            } catch (BpfException e) {
                log.warn("closing anyway: {}", e.getMessage());
            }
            object.close();
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("SockmapKernel is closed");
        }
    }

    private static byte[] shippedObject() {
        try (InputStream in = SockmapKernel.class.getResourceAsStream(OBJECT_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(OBJECT_RESOURCE + " is missing from the classpath");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + OBJECT_RESOURCE, e);
        }
    }
}
