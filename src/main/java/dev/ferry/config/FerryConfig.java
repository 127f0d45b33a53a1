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
 * @param flow flow control of the sockmap plane
 * @param dataplane which data plane listeners use by default, and the splice and copy planes' buffer sizes
 */
public record FerryConfig(
        SockmapConfig sockmap,
        Optional<InetSocketAddress> admin,
        List<ListenerConfig> listeners,
        List<ClusterConfig> clusters,
        FlowConfig flow,
        DataPlaneConfig dataplane,
        SocketBuffersConfig socketBuffers) {

    public FerryConfig {
        Objects.requireNonNull(socketBuffers, "socketBuffers");
        Objects.requireNonNull(dataplane, "dataplane");
        Objects.requireNonNull(flow, "flow");
        Objects.requireNonNull(sockmap, "sockmap");
        Objects.requireNonNull(admin, "admin");
        listeners = List.copyOf(listeners);
        clusters = List.copyOf(clusters);
    }

    /** A configuration whose socket buffers are left to the kernel. */
    public FerryConfig(SockmapConfig sockmap, Optional<InetSocketAddress> admin, List<ListenerConfig> listeners,
                       List<ClusterConfig> clusters, FlowConfig flow, DataPlaneConfig dataplane) {
        this(sockmap, admin, listeners, clusters, flow, dataplane, SocketBuffersConfig.AUTOTUNED);
    }

    /** A configuration with the default data plane settings. */
    public FerryConfig(SockmapConfig sockmap, Optional<InetSocketAddress> admin, List<ListenerConfig> listeners,
                       List<ClusterConfig> clusters, FlowConfig flow) {
        this(sockmap, admin, listeners, clusters, flow, DataPlaneConfig.DEFAULTS);
    }

    public Optional<ClusterConfig> cluster(String name) {
        return clusters.stream().filter(cluster -> cluster.name().equals(name)).findFirst();
    }
}
