package dev.ferry.handoff;

import dev.ferry.stats.Stats;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What Ferry knows of one client connection once it is routed: where it came from, where it goes,
 * and how it ended. The data plane reports the end once; that report is the access log line.
 */
public final class ProxiedConnection {
    private static final Logger ACCESS = LoggerFactory.getLogger("ferry.access");

    private final String listener;
    private final InetSocketAddress client;
    private final String cluster;
    private final InetSocketAddress backend;
    private final long consumedFromClient;
    private final Duration idleTimeout;
    private final long acceptedNanos;
    private final Stats stats;
    private final AtomicBoolean ended = new AtomicBoolean();

    public ProxiedConnection(String listener, InetSocketAddress client, String cluster, InetSocketAddress backend,
                             long consumedFromClient, Duration idleTimeout, long acceptedNanos, Stats stats) {
        this.listener = listener;
        this.client = client;
        this.cluster = cluster;
        this.backend = backend;
        this.consumedFromClient = consumedFromClient;
        this.idleTimeout = idleTimeout;
        this.acceptedNanos = acceptedNanos;
        this.stats = stats;
    }

    public String listener() { return listener; }
    public String cluster() { return cluster; }
    public Duration idleTimeout() { return idleTimeout; }
    public Stats stats() { return stats; }

    /** Bytes Ferry read from the client while deciding, already written to the backend. */
    public long consumedFromClient() { return consumedFromClient; }

    /**
     * Records the end of the connection; later calls are ignored so that both sides' close paths may
     * report without coordination.
     */
    public void end(String plane, ConnectionEnd how, long bytesToBackend, long bytesToClient) {
        if (!ended.compareAndSet(false, true)) {
            return;
        }
        stats.connectionEnded(listener, plane, how);
        stats.add("ferry_bytes_to_backend_total", bytesToBackend);
        stats.add("ferry_bytes_to_client_total", bytesToClient);
        long millis = (System.nanoTime() - acceptedNanos) / 1_000_000;
        ACCESS.info("listener={} client={} cluster={} backend={} plane={} end={} to_backend={} to_client={} duration_ms={}",
                listener, client, cluster, backend, plane, how.label(), bytesToBackend, bytesToClient, millis);
    }
}
