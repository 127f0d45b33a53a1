package dev.ferry.config;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A whole Ferry configuration, as read by {@link ConfigLoader}. Every cluster a route names exists.
 *
 * @param sockmap kernel map sizing
 * @param admin where the stats endpoint listens, if anywhere
 * @param listeners never empty, names and addresses distinct
 * @param clusters in file order, names distinct
 */
public record FerryConfig(
        SockmapConfig sockmap,
        Optional<InetSocketAddress> admin,
        List<ListenerConfig> listeners,
        List<ClusterConfig> clusters) {

    public FerryConfig {
        Objects.requireNonNull(sockmap, "sockmap");
        Objects.requireNonNull(admin, "admin");
        listeners = List.copyOf(listeners);
        clusters = List.copyOf(clusters);
    }

    public Optional<ClusterConfig> cluster(String name) {
        return clusters.stream().filter(cluster -> cluster.name().equals(name)).findFirst();
    }
}
