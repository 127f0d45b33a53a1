package dev.ferry.connect;

import dev.ferry.config.ClusterConfig;
import dev.ferry.stats.Stats;
import io.netty.channel.EventLoopGroup;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The running clusters, by name, and their replacement on reload in two steps: {@link #prepare} builds what
 * a new configuration needs without disturbing what runs, then {@link #commit} starts it and retires what it
 * replaced, or {@link #discard} drops it. Unchanged clusters are kept as they are, health checks included.
 */
public final class Clusters implements AutoCloseable {
    private final EventLoopGroup group;
    private final Stats stats;
    private final Resolver resolver;
    /** DNS refreshes block; they get a thread of their own, never an event loop. */
    private final ScheduledExecutorService background = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "ferry-dns");
        thread.setDaemon(true);
        return thread;
    });
    private volatile Map<String, Cluster> running = Map.of();

    public Clusters(EventLoopGroup group, Stats stats, Resolver resolver) {
        this.group = group;
        this.stats = stats;
        this.resolver = resolver;
    }

    /** What a configuration needs: every cluster by name, and what changes if it is committed. */
    public record Prepared(Map<String, Cluster> clusters, List<Cluster> created, List<Cluster> retired) {
    }

    public Map<String, Cluster> running() {
        return running;
    }

    /** Builds the clusters of {@code configs}, reusing each running one whose configuration is unchanged. */
    public synchronized Prepared prepare(List<ClusterConfig> configs) {
        Map<String, Cluster> next = new LinkedHashMap<>();
        List<Cluster> created = new ArrayList<>();
        for (ClusterConfig config : configs) {
            Cluster current = running.get(config.name());
            if (current != null && current.config().equals(config)) {
                next.put(config.name(), current);
            } else {
                Cluster cluster = new Cluster(config, Optional.ofNullable(current), resolver, stats);
                next.put(config.name(), cluster);
                created.add(cluster);
            }
        }
        List<Cluster> retired = new ArrayList<>();
        running.forEach((name, cluster) -> {
            if (next.get(name) != cluster) {
                retired.add(cluster);
            }
        });
        return new Prepared(Map.copyOf(next), List.copyOf(created), List.copyOf(retired));
    }

    public synchronized void commit(Prepared prepared) {
        prepared.created().forEach(cluster -> cluster.start(group, background));
        prepared.retired().forEach(Cluster::close);
        running = prepared.clusters();
    }

    public void discard(Prepared prepared) {
        prepared.created().forEach(Cluster::close);
    }

    /** Gauges of every running cluster, Prometheus text. */
    public String gauges() {
        StringBuilder out = new StringBuilder();
        running.values().forEach(cluster -> out.append(cluster.gauges()));
        return out.toString();
    }

    @Override
    public synchronized void close() {
        running.values().forEach(Cluster::close);
        background.shutdownNow();
        try {
            background.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
