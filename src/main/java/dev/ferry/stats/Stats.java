package dev.ferry.stats;

import dev.ferry.handoff.ConnectionEnd;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters and gauges of one Ferry process, exposed in the Prometheus text format by the admin
 * endpoint. Names carry their labels ({@code name{label="v"}}) so that one map holds them all.
 */
public final class Stats {
    private final Map<String, LongAdder> counters = new ConcurrentHashMap<>();

    public void increment(String name) {
        add(name, 1);
    }

    public void add(String name, long delta) {
        counters.computeIfAbsent(name, k -> new LongAdder()).add(delta);
    }

    public long get(String name) {
        LongAdder adder = counters.get(name);
        return adder == null ? 0 : adder.sum();
    }

    /** The sum of every counter of the family {@code name} whose labels contain {@code labelFragment}. */
    public long sum(String name, String labelFragment) {
        long total = 0;
        for (Map.Entry<String, LongAdder> entry : counters.entrySet()) {
            String key = entry.getKey();
            if ((key.equals(name) || key.startsWith(name + "{")) && key.contains(labelFragment)) {
                total += entry.getValue().sum();
            }
        }
        return total;
    }

    public void connectionAccepted(String listener) {
        increment("ferry_connections_accepted_total{listener=\"" + listener + "\"}");
        add("ferry_connections_active{listener=\"" + listener + "\"}", 1);
    }

    /** A connection closed before it was forwarded: rejected, unmatched, timed out, or no backend. */
    public void connectionRefused(String listener, String reason) {
        increment("ferry_connections_refused_total{listener=\"" + listener + "\",reason=\"" + reason + "\"}");
        add("ferry_connections_active{listener=\"" + listener + "\"}", -1);
    }

    public void connectionForwarded(String listener, String plane) {
        increment("ferry_connections_forwarded_total{listener=\"" + listener + "\",plane=\"" + plane + "\"}");
    }

    public void connectionEnded(String listener, String plane, ConnectionEnd how) {
        increment("ferry_connections_ended_total{listener=\"" + listener + "\",plane=\"" + plane
                + "\",end=\"" + how.label() + "\"}");
        add("ferry_connections_active{listener=\"" + listener + "\"}", -1);
    }

    /** Prometheus text exposition, sorted so that repeated scrapes diff cleanly. */
    public String render() {
        StringBuilder out = new StringBuilder();
        Map<String, Long> sorted = new TreeMap<>();
        counters.forEach((name, adder) -> sorted.put(name, adder.sum()));
        sorted.forEach((name, value) -> out.append(name).append(' ').append(value).append('\n'));
        return out.toString();
    }
}
