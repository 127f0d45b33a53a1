package dev.ferry.config;

import java.util.List;

/** Matches when at least one condition does (YAML {@code any}). */
public record AnyMatch(List<MatchConfig> conditions) implements MatchConfig {

    public AnyMatch {
        conditions = List.copyOf(conditions);
        if (conditions.isEmpty()) {
            throw new IllegalArgumentException("no conditions");
        }
    }
}
