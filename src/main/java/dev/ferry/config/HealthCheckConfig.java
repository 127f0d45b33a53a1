package dev.ferry.config;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Active health checking of every endpoint of a cluster (YAML {@code health_check}), as HAProxy's
 * {@code check inter rise fall}: a check is a TCP connect, optionally followed by sending {@code send} and
 * waiting for a reply that contains {@code expect}.
 *
 * @param interval time between the end of one check of an endpoint and the start of the next (default 5s)
 * @param timeout how long one check may take, connect and reply included (default 1s)
 * @param rise consecutive passing checks that bring a down endpoint back (default 2)
 * @param fall consecutive failing checks that take an up endpoint down (default 3)
 * @param send bytes written once connected (UTF-8 of the YAML string; use YAML escapes such as {@code "\r\n"})
 * @param expect bytes the reply must contain, read until found, EOF or the timeout
 */
public record HealthCheckConfig(Duration interval, Duration timeout, int rise, int fall,
                                Optional<String> send, Optional<String> expect) {

    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(5);
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(1);
    public static final int DEFAULT_RISE = 2;
    public static final int DEFAULT_FALL = 3;

    public HealthCheckConfig {
        Durations.requirePositive(interval, "interval");
        Durations.requirePositive(timeout, "timeout");
        if (rise < 1 || fall < 1) {
            throw new IllegalArgumentException("rise and fall must be positive: " + rise + ", " + fall);
        }
        Objects.requireNonNull(send, "send");
        Objects.requireNonNull(expect, "expect");
    }

    public static HealthCheckConfig tcp(Duration interval, Duration timeout, int rise, int fall) {
        return new HealthCheckConfig(interval, timeout, rise, fall, Optional.empty(), Optional.empty());
    }
}
