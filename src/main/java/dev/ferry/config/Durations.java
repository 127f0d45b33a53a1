package dev.ferry.config;

import java.time.Duration;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads durations written as a whole number and a unit: {@code 250ms}, {@code 5s}, {@code 10m}, {@code 1h}. */
final class Durations {

    /** Far beyond any sensible timeout, and small enough that {@link Duration#toNanos()} cannot overflow. */
    static final Duration MAX = Duration.ofDays(365);

    private static final Pattern AMOUNT_AND_UNIT = Pattern.compile("(\\d{1,12})(ms|s|m|h)");
    private static final Pattern BARE_NUMBER = Pattern.compile("\\d+");

    private Durations() {
    }

    /**
     * @throws IllegalArgumentException with a message fit for the user when {@code text} is not a positive
     *     duration of at most {@link #MAX}
     */
    static Duration parse(String text) {
        if (BARE_NUMBER.matcher(text).matches()) {
            // HAProxy reads a bare number as milliseconds and others read it as seconds: a unit removes the doubt.
            throw new IllegalArgumentException("missing unit in '" + text + "': a bare number is not taken as"
                    + " seconds or milliseconds; write e.g. " + text + "s or " + text + "ms (units: ms, s, m, h)");
        }
        Matcher parts = AMOUNT_AND_UNIT.matcher(text);
        if (!parts.matches()) {
            throw new IllegalArgumentException("invalid duration '" + text
                    + "': expected a whole number and a unit, e.g. 250ms, 5s, 10m, 1h (units: ms, s, m, h)");
        }
        long amount = Long.parseLong(parts.group(1));
        Duration duration = switch (parts.group(2)) {
            case "ms" -> Duration.ofMillis(amount);
            case "s" -> Duration.ofSeconds(amount);
            case "m" -> Duration.ofMinutes(amount);
            default -> Duration.ofHours(amount);
        };
        if (duration.isZero()) {
            throw new IllegalArgumentException("duration must be positive, got '" + text + "'");
        }
        if (duration.compareTo(MAX) > 0) {
            throw new IllegalArgumentException("duration '" + text + "' is too long (at most 8760h)");
        }
        return duration;
    }

    static void requirePositive(Duration duration, String name) {
        Objects.requireNonNull(duration, name);
        if (duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException(name + " must be positive: " + duration);
        }
    }
}
