package dev.ferry.connect;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The counts of a cluster that a reload must not reset: open connections to the cluster and per source
 * address, and the round-robin position. A reloaded cluster of the same name shares them, so connections
 * opened before the reload still count against the limits, and release into the same counts.
 */
final class ClusterState {
    final AtomicInteger active = new AtomicInteger();
    final ConcurrentHashMap<InetAddress, AtomicInteger> perSource = new ConcurrentHashMap<>();
    final AtomicLong rotation = new AtomicLong();

    /** Counts the source in; answers its count including this connection. */
    int acquireSource(InetAddress source) {
        return perSource.compute(source, (key, count) -> {
            AtomicInteger counted = count == null ? new AtomicInteger() : count;
            counted.incrementAndGet();
            return counted;
        }).get();
    }

    void release(InetAddress source) {
        active.decrementAndGet();
        perSource.computeIfPresent(source, (key, count) -> count.decrementAndGet() <= 0 ? null : count);
    }

    int sourceCount(InetAddress source) {
        AtomicInteger count = perSource.get(source);
        return count == null ? 0 : count.get();
    }
}
