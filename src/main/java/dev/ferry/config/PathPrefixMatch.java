package dev.ferry.config;

import java.util.Objects;

/**
 * Matches HTTP/1.x requests whose normalized path starts with a prefix (YAML {@code path_prefix}).
 *
 * @param prefix starts with {@code /}; already normalized the way request paths are (see the matcher)
 */
public record PathPrefixMatch(String prefix) implements MatchConfig {

    public PathPrefixMatch {
        Objects.requireNonNull(prefix, "prefix");
        if (!prefix.startsWith("/")) {
            throw new IllegalArgumentException("path prefix must start with /: " + prefix);
        }
    }
}
