package dev.ferry.dataplane.sockmap;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.ferry.bpf.AttachType;
import dev.ferry.bpf.BpfException;
import dev.ferry.bpf.BpfMap;
import dev.ferry.bpf.BpfObject;
import dev.ferry.bpf.BpfProgram;
import dev.ferry.sys.Sockets;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.Deque;
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
    private static final long CONN_SIZE = 32;  // struct conn: four __u64

    private final BpfObject object;
    private final BpfMap sockSources;
    private final BpfMap sockTargets;
    private final BpfMap conns;
    private final BpfProgram verdict;
    private final ReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed;  // written under lifecycle's write lock, read under its read lock

    /**
     * The program's {@code struct conn} for one socket.
     *
     * @param peerCookie       the socket whose egress gets this socket's bytes (itself for an echo)
     * @param redirectedBytes  bytes this socket received that were redirected to the peer's egress
     * @param redirectedSkbs   skbs redirected
     * @param redirectFailures skbs whose redirect failed, which the kernel dropped
     */
    public record ConnCounters(long peerCookie, long redirectedBytes, long redirectedSkbs, long redirectFailures) {}

    /** Entries in each of the program's maps; all zero when nothing leaked. */
    public record MapOccupancy(int sockSources, int sockTargets, int conns) {
        public boolean isEmpty() {
            return sockSources == 0 && sockTargets == 0 && conns == 0;
        }
    }

    private SockmapKernel(BpfObject object, BpfMap sockSources, BpfMap sockTargets, BpfMap conns,
                          BpfProgram verdict) {
        this.object = object;
        this.sockSources = sockSources;
        this.sockTargets = sockTargets;
        this.conns = conns;
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
            for (BpfMap map : new BpfMap[] {sockSources, sockTargets, conns}) {
                map.setMaxEntries(maxSockets);
            }
            BpfProgram verdict = object.program("ferry_verdict");
            object.load();
            verdict.attach(sockSources, AttachType.SK_SKB_VERDICT);
            return new SockmapKernel(object, sockSources, sockTargets, conns, verdict);
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
     * @throws IOException  if SO_RCVLOWAT could not be set: the sockets had been in the maps, so
     *                      bytes may have been forwarded already; reset the connection rather
     *                      than hand it to another data plane
     */
    public void insertPair(int fdA, long cookieA, int fdB, long cookieB) throws BpfException, IOException {
        if (cookieA == cookieB) {
            throw new IllegalArgumentException("a pair needs two sockets; use insertEcho for one");
        }
        insert(new Member[] {new Member(fdA, cookieA, cookieB), new Member(fdB, cookieB, cookieA)});
    }

    /** Makes the kernel send every byte the socket receives back out of it; see {@link #insertPair}. */
    public void insertEcho(int fd, long cookie) throws BpfException, IOException {
        insert(new Member[] {new Member(fd, cookie, cookie)});
    }

    private record Member(int fd, long cookie, long peerCookie) {}

    private void insert(Member[] members) throws BpfException, IOException {
        lifecycle.readLock().lock();
        Deque<Undo> done = new ArrayDeque<>();
        try (Arena arena = Arena.ofConfined()) {
            ensureOpen();
            MemorySegment conn = arena.allocate(CONN_SIZE, 8);  // zeroed counters
            for (Member m : members) {
                conn.set(JAVA_LONG, 0, m.peerCookie());
                conns.update(arena.allocateFrom(JAVA_LONG, m.cookie()), conn, BpfMap.NO_EXIST);
                done.push(() -> conns.delete(m.cookie()));
            }
            // Targets before sources: the verdict may run as soon as a socket is in sock_sources,
            // and then its peer must already be a redirect target, or its bytes would be dropped.
            for (BpfMap map : new BpfMap[] {sockTargets, sockSources}) {
                for (Member m : members) {
                    map.update(m.cookie(), m.fd(), BpfMap.NO_EXIST);
                    done.push(() -> map.delete(m.cookie()));
                }
            }
            for (Member m : members) {
                Sockets.setReceiveLowWatermark(m.fd(), 1);
            }
        } catch (BpfException | IOException | RuntimeException e) {
            undo(done, e);
            throw e;
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    @FunctionalInterface
    private interface Undo {
        boolean run() throws BpfException;
    }

    private static void undo(Deque<Undo> done, Exception cause) {
        while (!done.isEmpty()) {
            try {
                done.pop().run();
            } catch (BpfException | RuntimeException e) {  // keep undoing: leave as little behind as possible
                cause.addSuppressed(e);
            }
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
            return Optional.of(new ConnCounters(conn.get(JAVA_LONG, 0), conn.get(JAVA_LONG, 8),
                    conn.get(JAVA_LONG, 16), conn.get(JAVA_LONG, 24)));
        } catch (BpfException e) {
            throw unexpected(e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * Takes one socket out of the data plane. Missing entries are fine: the kernel drops a
     * closed socket from the sockhashes by itself (but never from conns, hence this call).
     */
    public void remove(long cookie) {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            sockSources.delete(cookie);
            sockTargets.delete(cookie);
            conns.delete(cookie);
        } catch (BpfException e) {
            throw unexpected(e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** Walks all three maps: for gauges and leak checks, not for every connection. */
    public MapOccupancy occupancy() {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            return new MapOccupancy(sockSources.countEntries(), sockTargets.countEntries(), conns.countEntries());
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
