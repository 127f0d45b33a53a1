package dev.ferry.dataplane.splice;

import dev.ferry.stats.Stats;
import java.io.IOException;
import java.util.ArrayDeque;

/**
 * The pipes of one event loop's spliced connections. A direction takes a pipe only while it has
 * bytes to move and gives it back as soon as the pipe is empty again, so an idle connection holds no
 * pipe: two descriptors, its sockets, as with the other planes and HAProxy, instead of six. Empty
 * pipes are kept for the next direction that needs one, up to {@link #MAX_SPARES}, so that a busy
 * loop does not pay pipe2, fcntl and two closes for every burst.
 *
 * <p>Touched only on its event loop, and after the loop has terminated by {@link #closeSpares}.
 */
final class PipePool {
    /** Spare pipes kept per event loop; more are closed when given back. */
    static final int MAX_SPARES = 64;
    static final String SPARE = "ferry_splice_pipes{state=\"spare\"}";
    static final String IN_USE = "ferry_splice_pipes{state=\"in_use\"}";

    private final int pipeBytes;
    private final Stats stats;
    private final ArrayDeque<Pipe> spares = new ArrayDeque<>();

    PipePool(int pipeBytes, Stats stats) {
        this.pipeBytes = pipeBytes;
        this.stats = stats;
    }

    /** A spare pipe, else a new one; the caller owns it until {@link #giveBack} or closes it. */
    Pipe take() throws IOException {
        Pipe pipe = spares.pollFirst();
        if (pipe != null) {
            stats.add(SPARE, -1);
        } else {
            pipe = Pipe.open(pipeBytes);
        }
        stats.add(IN_USE, 1);
        return pipe;
    }

    /** Takes back an empty pipe: kept as a spare, or closed when there are enough. */
    void giveBack(Pipe pipe) {
        stats.add(IN_USE, -1);
        if (spares.size() < MAX_SPARES) {
            spares.addFirst(pipe);
            stats.add(SPARE, 1);
        } else {
            pipe.close();
        }
    }

    /** Closes a pipe that may still hold bytes (its connection ended): it cannot serve another stream. */
    void discard(Pipe pipe) {
        stats.add(IN_USE, -1);
        pipe.close();
    }

    void closeSpares() {
        Pipe pipe;
        while ((pipe = spares.pollFirst()) != null) {
            stats.add(SPARE, -1);
            pipe.close();
        }
    }
}
