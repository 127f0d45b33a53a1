package dev.ferry.accept;

import dev.ferry.config.FerryConfig;
import dev.ferry.config.ListenerConfig;
import dev.ferry.config.SocketBuffersConfig;
import dev.ferry.connect.BackendConnector;
import dev.ferry.connect.Cluster;
import dev.ferry.connect.Clusters;
import dev.ferry.connect.Resolver;
import dev.ferry.handoff.AccessLog;
import dev.ferry.handoff.Handoff;
import dev.ferry.route.Router;
import dev.ferry.stats.Stats;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * What decides where new connections go: the listeners with their routes, and the clusters. {@link #apply}
 * installs a configuration, at start and on every reload, in two steps so that a failure leaves the running
 * one in place: first everything new is built and bound (clusters resolved, routers compiled, new addresses
 * bound), then each listener's context is swapped in one write, and replaced clusters are retired. A
 * connection keeps the context it was accepted with; established connections are never touched.
 */
public final class Routing implements AutoCloseable {
    private final Stats stats;
    private final AccessLog accessLog;
    private final Function<ListenerConfig, Handoff> handoffs;
    private final SocketBuffersConfig socketBuffers;
    private final BackendConnector connector;
    private final Clusters clusters;
    private final Listeners listeners;

    /**
     * @param accessLog where each forwarded connection's line goes when it ends; the caller owns it
     * @param handoffs the handoff (data plane) of each listener's connections
     * @param socketBuffers the buffer sizes of every client and backend socket, fixed for the process
     */
    public Routing(EventLoopGroup group, Stats stats, AccessLog accessLog, Function<ListenerConfig, Handoff> handoffs,
                   Resolver resolver, SocketBuffersConfig socketBuffers) {
        this.stats = stats;
        this.accessLog = accessLog;
        this.handoffs = handoffs;
        this.socketBuffers = socketBuffers;
        this.connector = new BackendConnector(socketBuffers);
        this.clusters = new Clusters(group, stats, resolver);
        this.listeners = new Listeners(group);
    }

    /**
     * Makes {@code config}'s listeners, routes and clusters the ones new connections use.
     *
     * @throws Exception when a router cannot be built or an address cannot be bound; nothing changed then
     */
    public synchronized void apply(FerryConfig config) throws Exception {
        Clusters.Prepared prepared = clusters.prepare(config.clusters());
        try {
            List<ListenerContext> contexts = new ArrayList<>();
            for (ListenerConfig listener : config.listeners()) {
                contexts.add(contextFor(listener, prepared.clusters()));
            }
            listeners.apply(contexts);
        } catch (Exception | Error e) {
            clusters.discard(prepared);
            throw e;
        }
        clusters.commit(prepared);
    }

    private ListenerContext contextFor(ListenerConfig listener, Map<String, Cluster> byName) {
        return new ListenerContext(listener, Router.forListener(listener), byName, connector,
                handoffs.apply(listener), stats, accessLog, socketBuffers);
    }

    public Optional<InetSocketAddress> listenerAddress(String name) {
        return listeners.get(name).map(ListenerServer::localAddress);
    }

    public Optional<ListenerServer> listener(String name) {
        return listeners.get(name);
    }

    public Map<String, Cluster> clusters() {
        return clusters.running();
    }

    /** Per-cluster and per-endpoint gauges, Prometheus text. */
    public String gauges() {
        return clusters.gauges();
    }

    @Override
    public synchronized void close() {
        try {
            listeners.close();
        } finally {
            clusters.close();
        }
    }
}
