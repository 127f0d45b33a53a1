package dev.ferry.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waiting, with a deadline, for a condition that another thread or process makes true. */
public final class Await {
    private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(15);
    private static final long POLL_MILLIS = 20;

    private Await() {
    }

    /** Waits up to 15 s until {@code condition} holds, else fails naming {@code what} it waited for. */
    public static void until(BooleanSupplier condition, String what) throws InterruptedException {
        until(condition, DEFAULT_TIMEOUT, () -> what);
    }

    public static void until(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
        until(condition, timeout, () -> what);
    }

    /** As above; {@code what} is built only when the wait fails, so that it can report the state then. */
    public static void until(BooleanSupplier condition, Duration timeout, Supplier<String> what)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + timeout.toSeconds() + " s: " + what.get());
            }
            Thread.sleep(POLL_MILLIS);
        }
    }
}
