package dev.ferry.accept;

import dev.ferry.config.ListenerConfig;
import dev.ferry.config.SocketBuffersConfig;
import dev.ferry.connect.BackendConnector;
import dev.ferry.connect.Cluster;
import dev.ferry.handoff.AccessLog;
import dev.ferry.handoff.Handoff;
import dev.ferry.route.Router;
import dev.ferry.stats.Stats;
import java.util.Map;
import java.util.Objects;

/** Everything a connection accepted on one listener needs, fixed when the listener starts. */
public record ListenerContext(ListenerConfig config, Router router, Map<String, Cluster> clusters,
                              BackendConnector connector, Handoff handoff, Stats stats, AccessLog accessLog,
                              SocketBuffersConfig socketBuffers) {
    public ListenerContext {
        clusters = Map.copyOf(clusters);
        Objects.requireNonNull(accessLog, "accessLog");
        Objects.requireNonNull(socketBuffers, "socketBuffers");
    }
}
