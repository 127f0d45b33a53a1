package dev.ferry.config;

import java.util.List;

/** Matches when every condition does (YAML {@code all}, or a match mapping with several keys). */
public record AllMatch(List<MatchConfig> conditions) implements MatchConfig {

    public AllMatch {
        conditions = List.copyOf(conditions);
        if (conditions.isEmpty()) {
            throw new IllegalArgumentException("no conditions");
        }
    }
}
