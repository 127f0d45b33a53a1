package dev.ferry.connect;

import java.net.InetAddress;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One connection's place in a cluster's counts (cluster, source address and, once connected, endpoint).
 * Released exactly once, however the connection ends: failed connect, client gone while connecting, or the
 * end of the forwarded pair.
 */
public final class Lease {
    private final ClusterState state;
    private final InetAddress source;
    private final AtomicBoolean released = new AtomicBoolean();
    private volatile Endpoint endpoint;

    Lease(ClusterState state, InetAddress source) {
        this.state = state;
        this.source = source;
    }

    /** Takes over the endpoint count the connect attempt took. */
    void bind(Endpoint endpoint) {
        this.endpoint = endpoint;
    }

    public void release() {
        if (!released.compareAndSet(false, true)) {
            return;
        }
        Endpoint bound = endpoint;
        if (bound != null) {
            bound.active.decrementAndGet();
        }
        state.release(source);
    }

    public boolean released() {
        return released.get();
    }
}
