package dev.ferry.handoff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.stats.Stats;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class AccessLogTest {
    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final InetSocketAddress CLIENT = new InetSocketAddress("127.0.0.1", 40098);
    private static final InetSocketAddress BACKEND = new InetSocketAddress("127.0.0.1", 9001);

    private static AccessLog.Line line(long n) {
        return new AccessLog.Line("edge", CLIENT, "eu", BACKEND, "sockmap", "closed", n, 2 * n, 7);
    }

    @Test
    void linesAreWrittenOnTheWritersThreadInTheOrderOneThreadQueuedThem() throws Exception {
        List<AccessLog.Line> written = new CopyOnWriteArrayList<>();
        List<String> threads = new CopyOnWriteArrayList<>();
        Stats stats = new Stats();
        try (AccessLog log = AccessLog.start(stats, 1_000, line -> {
            written.add(line);
            threads.add(Thread.currentThread().getName());
        }, true, WAIT)) {
            for (long n = 0; n < 500; n++) {
                log.write(line(n));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (written.size() < 500 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
        }
        assertEquals(500, written.size());
        for (int n = 0; n < 500; n++) {
            assertEquals(n, written.get(n).toBackend());
        }
        assertEquals(List.of("ferry-access-log"), threads.stream().distinct().toList());
        assertTrue(stats.render().contains(AccessLog.DROPPED + " 0\n"), stats.render());
    }

    @Test
    @Timeout(30)
    void aWriterThatFallsBehindDropsAndCountsLinesInsteadOfBlockingTheCaller() throws Exception {
        CountDownLatch stuck = new CountDownLatch(1);
        CountDownLatch inSink = new CountDownLatch(1);
        List<AccessLog.Line> written = new CopyOnWriteArrayList<>();
        Consumer<AccessLog.Line> slowSink = line -> {
            inSink.countDown();
            try {
                stuck.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            written.add(line);
        };
        Stats stats = new Stats();
        AccessLog log = AccessLog.start(stats, 10, slowSink, true, WAIT);
        log.write(line(0));
        assertTrue(inSink.await(10, TimeUnit.SECONDS), "the writer took the first line");
        long started = System.nanoTime();
        for (long n = 1; n <= 25; n++) {
            log.write(line(n));
        }
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertTrue(tookMillis < 1_000, "writing while the writer is stuck took " + tookMillis + " ms");
        assertEquals(15, stats.get(AccessLog.DROPPED), "10 queued, 15 dropped");
        stuck.countDown();
        log.close();
        assertEquals(11, written.size(), "the line in hand and the 10 queued are written by close()");
        assertEquals(10, written.getLast().toBackend());
    }

    @Test
    void closeWritesEveryQueuedLineAndALineQueuedAfterCloseIsStillWritten() throws Exception {
        List<AccessLog.Line> written = new CopyOnWriteArrayList<>();
        AccessLog log = AccessLog.start(new Stats(), 1_000, written::add, true, WAIT);
        for (long n = 0; n < 300; n++) {
            log.write(line(n));
        }
        log.close();
        assertEquals(300, written.size());
        log.write(line(300));
        assertEquals(301, written.size(), "a connection that ends during shutdown still gets its line");
    }

    @Test
    void aLoggerTurnedOffQueuesNothing() throws Exception {
        List<AccessLog.Line> written = new CopyOnWriteArrayList<>();
        Stats stats = new Stats();
        try (AccessLog log = AccessLog.start(stats, 1, written::add, false, WAIT)) {
            for (long n = 0; n < 10; n++) {
                log.write(line(n));
            }
        }
        assertEquals(0, written.size());
        assertEquals(0, stats.get(AccessLog.DROPPED));
    }

    @Test
    @Timeout(30)
    void closeDoesNotWaitForeverForAWriterStuckOnItsOutput() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        CountDownLatch inSink = new CountDownLatch(1);
        Stats stats = new Stats();
        AccessLog log = AccessLog.start(stats, 100, line -> {
            inSink.countDown();
            while (never.getCount() > 0) {
                try {
                    never.await();
                } catch (InterruptedException ignored) {
                    // as a write to a full pipe would: an interrupt does not end it
                }
            }
        }, true, Duration.ofMillis(300));
        log.write(line(0));
        assertTrue(inSink.await(10, TimeUnit.SECONDS), "the writer took the first line");
        for (long n = 1; n <= 5; n++) {
            log.write(line(n));
        }
        long started = System.nanoTime();
        log.close();
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertTrue(tookMillis < 5_000, "close took " + tookMillis + " ms");
        assertEquals(5, stats.get(AccessLog.DROPPED), "the five lines behind the stuck one");
        never.countDown();
    }
}
