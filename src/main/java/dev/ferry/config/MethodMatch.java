package dev.ferry.config;

import java.util.List;

/**
 * Matches HTTP/1.x requests with any of these methods (YAML {@code method}).
 *
 * @param methods upper case, as on the wire ({@code GET}, {@code POST})
 */
public record MethodMatch(List<String> methods) implements MatchConfig {

    public MethodMatch {
        methods = List.copyOf(methods);
        if (methods.isEmpty()) {
            throw new IllegalArgumentException("no methods");
        }
    }
}
