package dev.ferry.cli;

import java.util.concurrent.CountDownLatch;

/** Keeps a foreground command alive until SIGINT or SIGTERM, then closes what it started. */
final class UntilStopped {
    private UntilStopped() {
    }

    static void await(AutoCloseable running) throws InterruptedException {
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                running.close();
            } catch (Exception e) {
                System.err.println("ferry: error while stopping: " + e);
            } finally {
                closed.countDown();
            }
        }, "ferry-stop"));
        closed.await();
    }
}
