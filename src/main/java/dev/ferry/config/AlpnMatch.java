package dev.ferry.config;

import java.util.List;

/**
 * Matches TLS clients that offer any of these application protocols in their ClientHello (YAML {@code alpn}).
 *
 * @param protocols ALPN identifiers, compared exactly (they are byte strings: {@code h2}, {@code http/1.1})
 */
public record AlpnMatch(List<String> protocols) implements MatchConfig {

    public AlpnMatch {
        protocols = List.copyOf(protocols);
        if (protocols.isEmpty()) {
            throw new IllegalArgumentException("no protocols");
        }
    }
}
