package dev.ferry.config;

import java.util.Objects;

/**
 * Matches the server name a TLS client asks for (YAML {@code sni}).
 *
 * @param pattern lowercase; either an exact name or {@code *.suffix}, which matches any name with at least one
 *     more label in front of {@code suffix} but not {@code suffix} itself
 */
public record SniMatch(String pattern) implements MatchConfig {

    public SniMatch {
        Objects.requireNonNull(pattern, "pattern");
    }
}
