package dev.ferry.accept;

import io.netty.channel.EventLoopGroup;
import java.util.concurrent.TimeUnit;

/** Stopping the event loops so that they close every channel they hold first. */
public final class EventLoops {
    /**
     * Netty 4.2's loop closes its channels only on an iteration that sees the shutdown between its I/O
     * and its tasks. With a quiet period of 0 a shutdown requested while the loop runs its tasks ends
     * the loop at once, and the channels it held stay open, sockets and all, with no one left to close
     * them. A quiet period makes the loop go round once more, and that round closes them.
     */
    private static final long QUIET_PERIOD_MILLIS = 50;
    private static final long TIMEOUT_MILLIS = 2_000;

    private EventLoops() {}

    /** Closes every channel of {@code group}, then stops its threads; waits for both. */
    public static void shutDown(EventLoopGroup group) {
        group.shutdownGracefully(QUIET_PERIOD_MILLIS, TIMEOUT_MILLIS, TimeUnit.MILLISECONDS).syncUninterruptibly();
    }
}
