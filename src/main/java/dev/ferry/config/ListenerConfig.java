package dev.ferry.config;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A socket Ferry accepts connections on, and how it routes them.
 *
 * @param name for logs and stats
 * @param address where to listen; port 0 asks the kernel for a free port
 * @param firstPacket limits on reading the bytes routes match against
 * @param idleTimeout a pair with no traffic either way for this long is closed (YAML {@code idle_timeout},
 *     default 1h); spliced pairs are invisible to user space, so nothing else would ever reap them
 * @param routes tried in order, the first match wins; a connection no route takes is closed
 * @param reusePort bind one socket per acceptor thread (one per core) with {@code SO_REUSEPORT}, so the kernel
 *     spreads new connections over them (YAML {@code reuse_port}, default false)
 * @param dataplane the data plane of this listener's connections (YAML {@code dataplane}); empty: the top level's
 * @param proxyProtocol accept PROXY protocol headers from trusted peers (YAML {@code proxy_protocol}), if present
 */
public record ListenerConfig(
        String name,
        InetSocketAddress address,
        FirstPacketConfig firstPacket,
        Duration idleTimeout,
        List<RouteConfig> routes,
        boolean reusePort,
        Optional<DataPlaneMode> dataplane,
        Optional<InboundProxyConfig> proxyProtocol) {

    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofHours(1);

    public ListenerConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(firstPacket, "firstPacket");
        Durations.requirePositive(idleTimeout, "idleTimeout");
        routes = List.copyOf(routes);
        Objects.requireNonNull(dataplane, "dataplane");
        Objects.requireNonNull(proxyProtocol, "proxyProtocol");
    }

    /** A listener that does not accept the PROXY protocol. */
    public ListenerConfig(String name, InetSocketAddress address, FirstPacketConfig firstPacket, Duration idleTimeout,
                          List<RouteConfig> routes, boolean reusePort, Optional<DataPlaneMode> dataplane) {
        this(name, address, firstPacket, idleTimeout, routes, reusePort, dataplane, Optional.empty());
    }

    /** A listener that uses the top level's data plane. */
    public ListenerConfig(String name, InetSocketAddress address, FirstPacketConfig firstPacket, Duration idleTimeout,
                          List<RouteConfig> routes, boolean reusePort) {
        this(name, address, firstPacket, idleTimeout, routes, reusePort, Optional.empty());
    }

    /** A listener with one accepting socket. */
    public ListenerConfig(String name, InetSocketAddress address, FirstPacketConfig firstPacket, Duration idleTimeout,
                          List<RouteConfig> routes) {
        this(name, address, firstPacket, idleTimeout, routes, false);
    }
}
