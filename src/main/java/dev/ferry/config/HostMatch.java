package dev.ferry.config;

import java.util.Objects;

/**
 * Matches the host of an HTTP/1.x request (YAML {@code host}), compared without case and without the port.
 *
 * @param host lowercase, no port; an IPv6 literal keeps its brackets, as in {@code [::1]}
 */
public record HostMatch(String host) implements MatchConfig {

    public HostMatch {
        Objects.requireNonNull(host, "host");
    }
}
