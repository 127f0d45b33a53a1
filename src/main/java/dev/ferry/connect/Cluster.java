package dev.ferry.connect;

import dev.ferry.config.ClusterConfig;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** The endpoints of one cluster and the round-robin position shared by every listener routing to it. */
public final class Cluster {
    private final String name;
    private final List<InetSocketAddress> endpoints;
    private final Duration connectTimeout;
    private final AtomicInteger next = new AtomicInteger();

    public Cluster(ClusterConfig config) {
        this.name = config.name();
        this.endpoints = List.copyOf(config.endpoints());
        this.connectTimeout = config.connectTimeout();
    }

    public String name() { return name; }
    public Duration connectTimeout() { return connectTimeout; }

    /**
     * The endpoints in the order this connection should try them: round robin picks the first, and
     * a refused connect moves on to the next, which is safe because no byte has reached a backend yet.
     */
    public List<InetSocketAddress> attemptOrder() {
        int size = endpoints.size();
        int start = Math.floorMod(next.getAndIncrement(), size);
        InetSocketAddress[] order = new InetSocketAddress[size];
        for (int i = 0; i < size; i++) {
            order[i] = endpoints.get((start + i) % size);
        }
        return List.of(order);
    }
}
