package dev.ferry.config;

import java.util.Objects;

/**
 * Matches the client id of a Kafka-protocol request header (YAML {@code kafka_client_id}), the first request
 * a Kafka (or Fluvio) client sends.
 *
 * @param pattern an exact client id, or a prefix followed by {@code *} ({@code tenant-*}); {@code *} alone
 *     matches any request that has a client id
 */
public record KafkaClientIdMatch(String pattern) implements MatchConfig {

    public KafkaClientIdMatch {
        Objects.requireNonNull(pattern, "pattern");
        if (pattern.isEmpty() || pattern.indexOf('*') >= 0 && pattern.indexOf('*') != pattern.length() - 1) {
            throw new IllegalArgumentException("bad client id pattern: " + pattern);
        }
    }
}
