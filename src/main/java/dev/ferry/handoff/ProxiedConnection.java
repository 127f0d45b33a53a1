package dev.ferry.handoff;

import dev.ferry.stats.Stats;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What Ferry knows of one client connection once it is routed: where it came from, where it goes,
 * and how it ended. The data plane reports the end once; that report is the access log line.
 */
public final class ProxiedConnection {
    private final String listener;
    private final InetSocketAddress client;
    private final String cluster;
    private final InetSocketAddress backend;
    private final long consumedFromClient;
    private final long readFromClient;
    private final boolean readMayHaveSplitASegment;
    private final Duration idleTimeout;
    private final long acceptedNanos;
    private final Stats stats;
    private final AccessLog accessLog;
    private final AtomicBoolean ended = new AtomicBoolean();
    /** Bytes one plane forwarded before it handed the connection to another, which counts only its own. */
    private volatile long forwardedBeforeToBackend;
    private volatile long forwardedBeforeToClient;
    /** Runs once at the end; {@link #DONE} once run. */
    private final java.util.concurrent.atomic.AtomicReference<Runnable> onEnd =
            new java.util.concurrent.atomic.AtomicReference<>();
    private static final Runnable DONE = () -> { };

    public ProxiedConnection(String listener, InetSocketAddress client, String cluster, InetSocketAddress backend,
                             long consumedFromClient, Duration idleTimeout, long acceptedNanos, Stats stats,
                             AccessLog accessLog) {
        this(listener, client, cluster, backend, consumedFromClient, consumedFromClient, false, idleTimeout,
                acceptedNanos, stats, accessLog);
    }

    /**
     * @param consumedFromClient       bytes read while deciding that go to the backend
     * @param readFromClient           all bytes read from the client socket while deciding, including a
     *                                 PROXY header or token preamble that was stripped
     * @param readMayHaveSplitASegment whether the last read filled its buffer, so that it may have
     *                                 stopped inside a TCP segment still queued on the socket
     */
    public ProxiedConnection(String listener, InetSocketAddress client, String cluster, InetSocketAddress backend,
                             long consumedFromClient, long readFromClient, boolean readMayHaveSplitASegment,
                             Duration idleTimeout, long acceptedNanos, Stats stats, AccessLog accessLog) {
        this.readFromClient = readFromClient;
        this.readMayHaveSplitASegment = readMayHaveSplitASegment;
        this.listener = listener;
        this.client = client;
        this.cluster = cluster;
        this.backend = backend;
        this.consumedFromClient = consumedFromClient;
        this.idleTimeout = idleTimeout;
        this.acceptedNanos = acceptedNanos;
        this.stats = stats;
        this.accessLog = accessLog;
    }

    public String listener() { return listener; }
    public String cluster() { return cluster; }
    public Duration idleTimeout() { return idleTimeout; }
    public Stats stats() { return stats; }

    /** Bytes Ferry read from the client while deciding, already written to the backend. */
    public long consumedFromClient() { return consumedFromClient; }

    /** Every byte Ferry read from the client socket while deciding, stripped ones included. */
    public long readFromClient() { return readFromClient; }

    /**
     * Whether Ferry's last read while deciding may have ended inside a segment still queued on the
     * socket. The sockmap verdict sees whole segments, so it would count that one's first part again.
     */
    public boolean readMayHaveSplitASegment() { return readMayHaveSplitASegment; }

    /**
     * Runs {@code release} once when the connection ends (or at once if it has ended): how the connection's
     * place in its cluster's counts is given back on every end path, whichever data plane forwards it.
     * At most one hook per connection.
     */
    public void whenEnded(Runnable release) {
        if (!onEnd.compareAndSet(null, release)) {
            if (onEnd.get() == DONE) {
                release.run();
                return;
            }
            throw new IllegalStateException("a release hook is already set");
        }
        if (ended.get()) {
            runEndHook();
        }
    }

    private void runEndHook() {
        Runnable hook = onEnd.getAndSet(DONE);
        if (hook != null && hook != DONE) {
            hook.run();
        }
    }

    /**
     * Bytes the kernel forwarded while a plane tried to take the connection, before it handed it to its
     * fallback plane: counted in the end's totals, which the fallback plane reports from its own start.
     */
    public void forwardedBeforeFallback(long toBackend, long toClient) {
        forwardedBeforeToBackend = toBackend;
        forwardedBeforeToClient = toClient;
    }

    /**
     * Records the end of the connection; later calls are ignored so that both sides' close paths may
     * report without coordination.
     */
    public void end(String plane, ConnectionEnd how, long bytesToBackend, long bytesToClient) {
        if (!ended.compareAndSet(false, true)) {
            return;
        }
        runEndHook();
        bytesToBackend += forwardedBeforeToBackend;
        bytesToClient += forwardedBeforeToClient;
        stats.connectionEnded(listener, plane, how);
        stats.add("ferry_bytes_to_backend_total", bytesToBackend);
        stats.add("ferry_bytes_to_client_total", bytesToClient);
        long millis = (System.nanoTime() - acceptedNanos) / 1_000_000;
        accessLog.write(new AccessLog.Line(listener, client, cluster, backend, plane, how.label(), bytesToBackend,
                bytesToClient, millis));
    }
}
