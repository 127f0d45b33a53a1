package dev.ferry.config;

import java.util.Objects;

/** Matches when the condition does not (YAML {@code not}). */
public record NotMatch(MatchConfig condition) implements MatchConfig {

    public NotMatch {
        Objects.requireNonNull(condition, "condition");
    }
}
