package dev.ferry.connect;

import dev.ferry.config.ClusterConfig;
import dev.ferry.config.EndpointConfig;
import dev.ferry.config.OutlierDetectionConfig;
import dev.ferry.config.ProxyProtocol;
import dev.ferry.stats.Stats;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A cluster at run time: its endpoints (DNS names resolved), the load-balancing algorithm over them, their
 * health, and the connection limits. Shared by every listener routing to it, on any thread.
 *
 * <p>One instance per configuration of the cluster: a reload that changes the cluster builds a new instance
 * from the old one, which keeps the old one's counts ({@link ClusterState}) and the health of every endpoint
 * whose address stays, then retires the old one. Connections opened through the old instance release into
 * the same counts.
 */
public final class Cluster implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Cluster.class);

    private final ClusterConfig config;
    private final ClusterState state;
    private final Resolver resolver;
    private final Stats stats;
    private volatile Picker picker;
    /** The last successful resolution of each DNS name, kept when a later one fails. */
    private volatile Map<String, List<InetAddress>> resolved;
    private HealthChecker checker;
    private ScheduledFuture<?> dnsRefresh;
    private volatile boolean closed;

    /** A cluster with fresh counts, resolved through the system resolver; nothing runs until {@link #start}. */
    public Cluster(ClusterConfig config) {
        this(config, Optional.empty(), Resolver.SYSTEM, new Stats());
    }

    /**
     * Resolves the DNS names among the endpoints (blocking) and builds the picker.
     *
     * @param previous the running instance of the same name, whose counts and endpoint health carry over
     */
    public Cluster(ClusterConfig config, Optional<Cluster> previous, Resolver resolver, Stats stats) {
        this.config = config;
        this.state = previous.map(p -> p.state).orElseGet(ClusterState::new);
        this.resolver = resolver;
        this.stats = stats;
        this.resolved = previous.map(p -> p.resolved).orElse(Map.of());
        List<Endpoint> carried = previous.map(p -> List.of(p.picker.endpoints)).orElse(List.of());
        this.picker = buildPicker(resolveNames(), carried);
    }

    public String name() {
        return config.name();
    }

    public ClusterConfig config() {
        return config;
    }

    public Duration connectTimeout() {
        return config.connectTimeout();
    }

    public Optional<ProxyProtocol> proxyProtocol() {
        return config.proxyProtocol();
    }

    /** The current endpoints, in configuration order (a DNS name's addresses sorted, IPv4 first). */
    public List<Endpoint> endpoints() {
        return List.of(picker.endpoints);
    }

    /** Connections open or connecting through this cluster, across reloads. */
    public int activeConnections() {
        return state.active.get();
    }

    public int activeConnections(InetAddress source) {
        return state.sourceCount(source);
    }

    /** Starts health checks and DNS refreshes. */
    public synchronized void start(EventLoopGroup group, ScheduledExecutorService background) {
        if (closed) {
            return;
        }
        if (config.healthCheck().isPresent()) {
            checker = new HealthChecker(this, config.healthCheck().get(), group);
            checker.start();
        } else {
            for (Endpoint endpoint : picker.endpoints) {
                endpoint.resetHealth();
            }
        }
        if (config.usesDns()) {
            long every = config.dnsRefresh().toMillis();
            dnsRefresh = background.scheduleWithFixedDelay(this::refreshDns, every, every, TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (checker != null) {
            checker.close();
        }
        if (dnsRefresh != null) {
            dnsRefresh.cancel(false);
        }
    }

    /**
     * Counts a new connection from {@code client} in, or refuses it when a limit is reached.
     *
     * @throws BackendConnector.NoBackendException with reason cluster_max_connections or source_max_connections
     */
    public Lease admit(InetSocketAddress client) throws BackendConnector.NoBackendException {
        InetAddress source = client.getAddress();
        int total = state.active.incrementAndGet();
        int fromSource = state.acquireSource(source);
        Lease lease = new Lease(state, source);
        if (config.maxConnections().isPresent() && total > config.maxConnections().getAsInt()) {
            lease.release();
            throw refused("cluster_max_connections", "cluster " + name() + " is at max_connections ("
                    + config.maxConnections().getAsInt() + ")");
        }
        if (config.maxConnectionsPerSource().isPresent() && fromSource > config.maxConnectionsPerSource().getAsInt()) {
            lease.release();
            throw refused("source_max_connections", "client " + source.getHostAddress() + " is at cluster "
                    + name() + "'s max_connections_per_source (" + config.maxConnectionsPerSource().getAsInt() + ")");
        }
        return lease;
    }

    /**
     * The endpoints a connection should try, in order: the load balancer's pick first, then the other
     * available endpoints. Down and ejected endpoints are left out.
     *
     * @throws BackendConnector.NoBackendException with reason no_healthy_endpoint when none is available
     */
    public List<Endpoint> attemptOrder(ConnectionKeys keys) throws BackendConnector.NoBackendException {
        long now = System.nanoTime();
        Picker current = picker;
        List<Endpoint> order = current.order(keys, now);
        if (order.isEmpty()) {
            String why = current.endpoints.length == 0
                    ? "no endpoint (no DNS name resolved yet)"
                    : Arrays.stream(current.endpoints).map(e -> e.label() + " " + e.unavailableReason(now))
                            .collect(Collectors.joining(", "));
            throw refused("no_healthy_endpoint", "cluster " + name() + " has no healthy endpoint: " + why);
        }
        return order;
    }

    private BackendConnector.NoBackendException refused(String reason, String message) {
        stats.increment("ferry_cluster_refused_total{cluster=\"" + name() + "\",reason=\"" + reason + "\"}");
        return new BackendConnector.NoBackendException(reason, message);
    }

    /** Passive outlier detection: counts a failed connect to {@code endpoint}, ejecting it at the threshold. */
    void connectFailed(Endpoint endpoint, String reason) {
        stats.increment("ferry_endpoint_connect_failures_total{cluster=\"" + name() + "\",endpoint=\""
                + endpoint.label() + "\"}");
        if (config.outlierDetection().isEmpty()) {
            return;
        }
        OutlierDetectionConfig outlier = config.outlierDetection().get();
        int failures = endpoint.consecutiveConnectFailures.incrementAndGet();
        long now = System.nanoTime();
        if (failures >= outlier.consecutiveFailures() && !endpoint.ejected(now)) {
            endpoint.eject(now + outlier.ejectionTime().toNanos());
            stats.increment("ferry_endpoint_ejections_total{cluster=\"" + name() + "\",endpoint=\""
                    + endpoint.label() + "\"}");
            LOG.warn("cluster {}: endpoint {} ejected for {} after {} consecutive connect failures (last: {})",
                    name(), endpoint.label(), outlier.ejectionTime(), failures, reason);
        }
    }

    void connectSucceeded(Endpoint endpoint) {
        endpoint.consecutiveConnectFailures.set(0);
    }

    /** Counts one active health check result, logging a change of state. */
    void checked(Endpoint endpoint, boolean passed, String failure) {
        var check = config.healthCheck().orElseThrow();
        stats.increment("ferry_health_checks_total{cluster=\"" + name() + "\",result=\"" + (passed ? "pass" : "fail")
                + "\"}");
        if (closed) {
            return;
        }
        if (endpoint.recordCheck(passed, failure, check.rise(), check.fall())) {
            stats.increment("ferry_endpoint_transitions_total{cluster=\"" + name() + "\",endpoint=\""
                    + endpoint.label() + "\",to=\"" + (passed ? "up" : "down") + "\"}");
            if (passed) {
                LOG.info("cluster {}: endpoint {} is up ({} passing health checks)", name(), endpoint.label(),
                        check.rise());
            } else {
                LOG.warn("cluster {}: endpoint {} is down ({} failing health checks, last: {})", name(),
                        endpoint.label(), check.fall(), failure);
            }
        }
    }

    boolean closed() {
        return closed;
    }

    /** Resolves every DNS name again and swaps the picker when the addresses changed. */
    public void refreshDns() {
        if (closed) {
            return;
        }
        List<Weighted> next = resolveNames();
        Picker current = picker;
        List<Weighted> now = new ArrayList<>();
        for (int i = 0; i < current.endpoints.length; i++) {
            now.add(new Weighted(current.endpoints[i].address(), current.weights[i]));
        }
        if (!next.equals(now)) {
            picker = buildPicker(next, List.of(current.endpoints));
            LOG.info("cluster {}: endpoints now {}", name(),
                    next.stream().map(w -> EndpointConfig.format(w.address())).toList());
        }
    }

    private record Weighted(InetSocketAddress address, int weight) {
    }

    private List<Weighted> resolveNames() {
        Map<InetSocketAddress, Integer> addresses = new LinkedHashMap<>();
        Map<String, List<InetAddress>> names = new HashMap<>(resolved);
        for (EndpointConfig endpoint : config.endpoints()) {
            if (!endpoint.isDnsName()) {
                addresses.putIfAbsent(endpoint.address(), endpoint.weight());
                continue;
            }
            String name = endpoint.address().getHostString();
            try {
                List<InetAddress> found = new ArrayList<>(resolver.resolve(name));
                found.sort(Comparator.comparing((InetAddress a) -> a instanceof Inet4Address ? 0 : 1)
                        .thenComparing(InetAddress::getHostAddress));
                names.put(name, List.copyOf(found));
            } catch (IOException | RuntimeException failed) {
                LOG.warn("cluster {}: cannot resolve {}: {}{}", name(), name, failed.toString(),
                        names.containsKey(name) ? "; keeping " + names.get(name) : "");
            }
            for (InetAddress address : names.getOrDefault(name, List.of())) {
                addresses.putIfAbsent(new InetSocketAddress(address, endpoint.address().getPort()), endpoint.weight());
            }
        }
        resolved = Map.copyOf(names);
        List<Weighted> result = new ArrayList<>();
        addresses.forEach((address, weight) -> result.add(new Weighted(address, weight)));
        return result;
    }

    private Picker buildPicker(List<Weighted> addresses, List<Endpoint> carried) {
        Map<InetSocketAddress, Endpoint> byAddress = new HashMap<>();
        carried.forEach(endpoint -> byAddress.put(endpoint.address(), endpoint));
        Endpoint[] endpoints = new Endpoint[addresses.size()];
        int[] weights = new int[addresses.size()];
        for (int i = 0; i < endpoints.length; i++) {
            Weighted w = addresses.get(i);
            endpoints[i] = byAddress.getOrDefault(w.address(), new Endpoint(w.address()));
            weights[i] = w.weight();
        }
        return Picker.create(config.loadBalancing(), config.hashOn(), endpoints, weights, state.rotation);
    }

    /** Prometheus lines: open connections of the cluster and of each endpoint, and whether each is usable. */
    public String gauges() {
        StringBuilder out = new StringBuilder();
        out.append("ferry_cluster_active_connections{cluster=\"").append(name()).append("\"} ")
                .append(state.active.get()).append('\n');
        long now = System.nanoTime();
        for (Endpoint endpoint : picker.endpoints) {
            String labels = "{cluster=\"" + name() + "\",endpoint=\"" + endpoint.label() + "\"}";
            out.append("ferry_endpoint_active_connections").append(labels).append(' ')
                    .append(endpoint.activeConnections()).append('\n');
            out.append("ferry_endpoint_up").append(labels).append(' ')
                    .append(endpoint.available(now) ? 1 : 0).append('\n');
        }
        return out.toString();
    }
}
