package dev.ferry.config;

import java.time.Duration;

/**
 * Passive ejection (YAML {@code outlier_detection}), as Envoy's consecutive-5xx detector applied to connects:
 * an endpoint whose connects fail {@code consecutiveFailures} times in a row (refused, unreachable or timed
 * out) gets no new connection for {@code ejectionTime}; after that it is tried again, and one more failure
 * ejects it again.
 *
 * @param consecutiveFailures default 5
 * @param ejectionTime default 30s
 */
public record OutlierDetectionConfig(int consecutiveFailures, Duration ejectionTime) {

    public static final int DEFAULT_CONSECUTIVE_FAILURES = 5;
    public static final Duration DEFAULT_EJECTION_TIME = Duration.ofSeconds(30);

    public OutlierDetectionConfig {
        if (consecutiveFailures < 1) {
            throw new IllegalArgumentException("consecutiveFailures must be positive: " + consecutiveFailures);
        }
        Durations.requirePositive(ejectionTime, "ejectionTime");
    }
}
