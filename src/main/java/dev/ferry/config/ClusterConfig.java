package dev.ferry.config;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A named group of interchangeable backends, like an Envoy cluster or an HAProxy backend.
 *
 * @param name how routes refer to it
 * @param endpoints the backends' addresses, never empty
 * @param connectTimeout how long a connection attempt to one endpoint may take (YAML {@code connect_timeout},
 *     default 2s: backends are expected to be near, and a client is waiting with its first bytes already sent)
 */
public record ClusterConfig(String name, List<InetSocketAddress> endpoints, Duration connectTimeout) {

    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(2);

    public ClusterConfig {
        Objects.requireNonNull(name, "name");
        endpoints = List.copyOf(endpoints);
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("cluster " + name + " has no endpoints");
        }
        Durations.requirePositive(connectTimeout, "connectTimeout");
    }
}
