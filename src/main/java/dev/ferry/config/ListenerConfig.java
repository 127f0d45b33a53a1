package dev.ferry.config;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A socket Ferry accepts connections on, and how it routes them.
 *
 * @param name for logs and stats
 * @param address where to listen; port 0 asks the kernel for a free port
 * @param firstPacket limits on reading the bytes routes match against
 * @param idleTimeout a pair with no traffic either way for this long is closed (YAML {@code idle_timeout},
 *     default 1h); spliced pairs are invisible to user space, so nothing else would ever reap them
 * @param routes tried in order, the first match wins; a connection no route takes is closed
 */
public record ListenerConfig(
        String name,
        InetSocketAddress address,
        FirstPacketConfig firstPacket,
        Duration idleTimeout,
        List<RouteConfig> routes) {

    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofHours(1);

    public ListenerConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(firstPacket, "firstPacket");
        Durations.requirePositive(idleTimeout, "idleTimeout");
        routes = List.copyOf(routes);
    }
}
