package dev.ferry.handoff;

import dev.ferry.stats.Stats;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The access log, written by one thread of its own. An event loop only queues a line: a write to stderr
 * blocks once nobody reads it (a full pipe stopped every event loop, and with them all forwarding), and
 * slf4j-simple takes one lock for the whole process and flushes for every line. The queue is bounded:
 * when the writer is {@value #CAPACITY} lines behind, further lines are dropped and counted in
 * {@code ferry_access_log_dropped_total}, as HAProxy drops log lines rather than slow its traffic.
 * Closing writes every line queued before it.
 */
public final class AccessLog implements AutoCloseable {
    static final int CAPACITY = 65_536;
    static final String DROPPED = "ferry_access_log_dropped_total";
    private static final Logger ACCESS = LoggerFactory.getLogger("ferry.access");
    private static final Logger LOG = LoggerFactory.getLogger(AccessLog.class);
    private static final int BATCH = 1_024;
    private static final Duration PASS_INTERVAL = Duration.ofMillis(20);
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);

    /** One ended connection, as the access line names it. */
    public record Line(String listener, InetSocketAddress client, String cluster, InetSocketAddress backend,
                       String plane, String end, long toBackend, long toClient, long durationMs) {
    }

    private final Stats stats;
    private final Consumer<Line> sink;
    private final boolean enabled;
    private final Duration closeWait;
    private final BlockingQueue<Line> queue;
    private final Thread writer;
    private final AtomicBoolean warnedOfDrops = new AtomicBoolean();
    private volatile boolean closed;

    private AccessLog(Stats stats, int capacity, Consumer<Line> sink, boolean enabled, Duration closeWait) {
        this.stats = stats;
        this.sink = sink;
        this.enabled = enabled;
        this.closeWait = closeWait;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.writer = Thread.ofPlatform().name("ferry-access-log").daemon().unstarted(this::writeUntilClosed);
    }

    /**
     * Starts the writer thread for the logger {@code ferry.access}; a logger turned off (level above INFO)
     * costs nothing.
     */
    public static AccessLog start(Stats stats) {
        return start(stats, CAPACITY, AccessLog::writeToLogger, ACCESS.isInfoEnabled(), CLOSE_WAIT);
    }

    static AccessLog start(Stats stats, int capacity, Consumer<Line> sink, boolean enabled, Duration closeWait) {
        AccessLog log = new AccessLog(stats, capacity, sink, enabled, closeWait);
        stats.add(DROPPED, 0);  // shown at 0 from the start, so that an alert on its increase has a series
        log.writer.start();
        return log;
    }

    private static void writeToLogger(Line line) {
        ACCESS.info("listener={} client={} cluster={} backend={} plane={} end={} to_backend={} to_client={}"
                        + " duration_ms={}", line.listener(), line.client(), line.cluster(), line.backend(),
                line.plane(), line.end(), line.toBackend(), line.toClient(), line.durationMs());
    }

    /** Queues {@code line} for the writer; never blocks. */
    public void write(Line line) {
        if (!enabled) {
            return;
        }
        if (!queue.offer(line)) {
            stats.increment(DROPPED);
            if (warnedOfDrops.compareAndSet(false, true)) {
                LOG.warn("access log: the writer is {} lines behind; lines are dropped and counted in {}",
                        queue.size(), DROPPED);
            }
        }
        if (closed && !writer.isAlive()) {
            // The writer may have made its last pass before this line was queued.
            writeQueued();
        }
    }

    /**
     * While lines keep coming, the writer sleeps between passes instead of waiting on the queue: a waiting
     * writer is woken by every line, and that wake-up (a futex call, a context switch on a core an event loop
     * needs) cost more than the line itself. Only an idle writer waits for the next line.
     */
    private void writeUntilClosed() {
        List<Line> batch = new ArrayList<>(BATCH);
        while (!closed || !queue.isEmpty()) {
            try {
                if (queue.drainTo(batch, BATCH) > 0) {
                    writeAll(batch);
                    if (!closed && queue.size() < BATCH) {
                        Thread.sleep(PASS_INTERVAL);
                    }
                } else {
                    Line first = queue.poll(1, TimeUnit.SECONDS);
                    if (first != null) {
                        batch.add(first);
                        writeAll(batch);
                    }
                }
            } catch (InterruptedException closing) {
                // close() wakes the writer for its last pass; the loop's test ends it.
            }
        }
    }

    private void writeQueued() {
        List<Line> rest = new ArrayList<>();
        queue.drainTo(rest);
        writeAll(rest);
    }

    private void writeAll(List<Line> batch) {
        for (Line line : batch) {
            try {
                sink.accept(line);
            } catch (RuntimeException e) {
                LOG.warn("access log: a line could not be written", e);
            }
        }
        batch.clear();
    }

    /**
     * Writes every line queued so far, then stops the writer. A writer still stuck after the wait (stderr
     * blocked) is left behind, and the lines it did not reach are counted as dropped: shutting down must
     * not wait for a reader that may never come.
     */
    @Override
    public void close() {
        closed = true;
        writer.interrupt();
        try {
            writer.join(closeWait);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (writer.isAlive()) {
            List<Line> unwritten = new ArrayList<>();
            queue.drainTo(unwritten);
            stats.add(DROPPED, unwritten.size());
            LOG.warn("access log: the writer is still blocked after {} s; {} lines not written",
                    closeWait.toSeconds(), unwritten.size());
            return;
        }
        writeQueued();
    }
}
