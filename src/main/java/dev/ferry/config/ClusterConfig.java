package dev.ferry.config;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A named group of interchangeable backends, like an Envoy cluster or an HAProxy backend.
 *
 * @param name how routes refer to it
 * @param endpoints the backends, never empty, no two alike
 * @param connectTimeout how long a connection attempt to one endpoint may take (YAML {@code connect_timeout},
 *     default 2s: backends are expected to be near, and a client is waiting with its first bytes already sent);
 *     a failed attempt moves on to the next endpoint, which is safe because no byte has reached a backend yet
 * @param dnsRefresh how often DNS names among the endpoints are resolved again (YAML {@code dns_refresh},
 *     default 30s)
 * @param loadBalancing how an endpoint is picked (YAML {@code load_balancing}, default round_robin)
 * @param hashOn what consistent_hash hashes; present exactly when {@code loadBalancing} is consistent_hash
 * @param healthCheck active checks, if any; without them every endpoint counts as up
 * @param outlierDetection passive ejection on consecutive connect failures, if any
 * @param proxyProtocol the PROXY header written to the backend before the client's bytes, if any
 * @param maxConnections most connections open to the cluster at once, connecting ones included; more are refused
 * @param maxConnectionsPerSource most connections from one client IP address to the cluster at once
 */
public record ClusterConfig(
        String name,
        List<EndpointConfig> endpoints,
        Duration connectTimeout,
        Duration dnsRefresh,
        LoadBalancing loadBalancing,
        Optional<HashOn> hashOn,
        Optional<HealthCheckConfig> healthCheck,
        Optional<OutlierDetectionConfig> outlierDetection,
        Optional<ProxyProtocol> proxyProtocol,
        OptionalInt maxConnections,
        OptionalInt maxConnectionsPerSource) {

    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(2);
    public static final Duration DEFAULT_DNS_REFRESH = Duration.ofSeconds(30);

    public ClusterConfig {
        Objects.requireNonNull(name, "name");
        endpoints = List.copyOf(endpoints);
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("cluster " + name + " has no endpoints");
        }
        Durations.requirePositive(connectTimeout, "connectTimeout");
        Durations.requirePositive(dnsRefresh, "dnsRefresh");
        Objects.requireNonNull(loadBalancing, "loadBalancing");
        Objects.requireNonNull(hashOn, "hashOn");
        if (hashOn.isPresent() != (loadBalancing == LoadBalancing.CONSISTENT_HASH)) {
            throw new IllegalArgumentException("hashOn goes with consistent_hash, and only with it");
        }
        Objects.requireNonNull(healthCheck, "healthCheck");
        Objects.requireNonNull(outlierDetection, "outlierDetection");
        Objects.requireNonNull(proxyProtocol, "proxyProtocol");
        Objects.requireNonNull(maxConnections, "maxConnections");
        Objects.requireNonNull(maxConnectionsPerSource, "maxConnectionsPerSource");
    }

    /** Static IP endpoints of weight 1 and every other setting at its default. */
    public ClusterConfig(String name, List<InetSocketAddress> endpoints, Duration connectTimeout) {
        this(name, endpoints.stream().map(EndpointConfig::of).toList(), connectTimeout, DEFAULT_DNS_REFRESH,
                LoadBalancing.ROUND_ROBIN, Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                OptionalInt.empty(), OptionalInt.empty());
    }

    /** Whether any endpoint is a DNS name. */
    public boolean usesDns() {
        return endpoints.stream().anyMatch(EndpointConfig::isDnsName);
    }
}
