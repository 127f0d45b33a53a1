package dev.ferry.config;

import java.time.Duration;

/**
 * How long and how far Ferry reads a new connection before it must decide where it goes.
 *
 * @param maxBytes most bytes buffered while matchers still need more (YAML {@code max_bytes}, default
 *     {@value #DEFAULT_MAX_BYTES}: a ClientHello with many extensions or an HTTP head with cookies fits)
 * @param timeout how long to wait for those bytes (YAML {@code timeout}, default 5s); it also bounds how long
 *     a client that sends nothing, or too little, can hold a connection open
 */
public record FirstPacketConfig(int maxBytes, Duration timeout) {

    public static final int DEFAULT_MAX_BYTES = 16384;
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
    public static final FirstPacketConfig DEFAULTS = new FirstPacketConfig(DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT);

    public FirstPacketConfig {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes must be positive: " + maxBytes);
        }
        Durations.requirePositive(timeout, "timeout");
    }
}
