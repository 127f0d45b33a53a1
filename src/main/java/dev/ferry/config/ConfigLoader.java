package dev.ferry.config;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.Node;

/**
 * Reads and validates a Ferry YAML configuration.
 *
 * <pre>{@code
 * sockmap: { max_connections: 65536 }     # optional
 * flow: { max_in_flight: 4MiB }           # optional; the default; 0 turns flow control off
 * socket_buffers: { client_receive: 128KiB, backend_send: 1MiB }   # optional; default 0: autotuned
 * admin: { address: 127.0.0.1:9901 }      # optional
 * dataplane: auto                         # sockmap, splice, copy or auto (the default); docs/dataplanes.md
 * splice: { pipe_bytes: 262144 }          # optional
 * copy: { buffer_bytes: 65536 }           # optional
 * listeners:                              # at least one
 *   - name: edge
 *     address: 127.0.0.1:8443             # IPv4:port or [IPv6]:port, IP literals only
 *     first_packet: { max_bytes: 16384, timeout: 5s }
 *     idle_timeout: 1h
 *     reuse_port: true                    # optional: one SO_REUSEPORT socket per core
 *     dataplane: splice                   # optional, overrides the top level
 *     routes:                             # in order, first match wins
 *       - match: { sni: "*.eu.example.com" }   # or host: ..., or prefix: ...
 *         cluster: eu
 *       - match: { prefix: "PING" }
 *         action: reject                  # forward (the default) or reject
 *       - cluster: fallback               # no match: takes everything, must be last
 * clusters:
 *   - name: eu
 *     endpoints: [ "127.0.0.1:9001", { address: "eu.internal:9001", weight: 2 } ]   # IPs or DNS names
 *     connect_timeout: 2s
 *     load_balancing: consistent_hash     # round_robin, least_connections, random_two_choices
 *     hash_on: sni                        # sni, host or source; with consistent_hash only
 *     health_check: { interval: 5s, timeout: 1s, rise: 2, fall: 3 }
 *     outlier_detection: { consecutive_failures: 5, ejection_time: 30s }
 *     proxy_protocol: v2                  # PROXY header to the backend: v1 or v2
 *     max_connections: 10000              # and max_connections_per_source; docs/clusters.md
 * }</pre>
 *
 * <p>Durations are a whole number and a unit: ms, s, m or h. Defaults are on the records.
 *
 * <p>The YAML is composed into nodes rather than loaded into maps so that every node keeps the line and column
 * it came from, and every error can name both. Loading stops at the first error.
 */
public final class ConfigLoader {

    private static final List<String> TOP_LEVEL_KEYS = Stream.concat(
            Stream.of("sockmap", "flow", "admin", "listeners", "clusters", "socket_buffers"),
            DataPlaneSection.TOP_LEVEL_KEYS.stream()).toList();
    private static final List<String> SOCKET_BUFFERS_KEYS =
            List.of("client_receive", "client_send", "backend_receive", "backend_send");
    private static final List<String> SOCKMAP_KEYS = List.of("max_connections");
    private static final List<String> ADMIN_KEYS = List.of("address");

    /** A typo guard: far more pairs than file descriptor limits allow in practice. */
    private static final int MAX_SOCKMAP_CONNECTIONS = 1 << 24;

    private ConfigLoader() {
    }

    /**
     * @throws ConfigException when the file cannot be read as UTF-8 (reported at 1:1, field path
     *     {@code (file)}), or when its content is not a valid configuration
     */
    public static FerryConfig load(Path file) throws ConfigException {
        String yaml;
        try {
            yaml = Files.readString(file);
        } catch (IOException unreadable) {
            // One exception type for callers: a missing file is as much a configuration mistake as a typo in it.
            throw new ConfigException(file.toString(), 1, 1, "(file)", "cannot read the file: " + unreadable);
        }
        return parse(yaml, file.toString());
    }

    /**
     * @param sourceName the name error messages give for the text, usually its file name
     * @throws ConfigException when {@code yaml} is not a valid configuration
     */
    public static FerryConfig parse(String yaml, String sourceName) throws ConfigException {
        YamlNode root = new YamlNode(compose(yaml, sourceName), "", sourceName);
        YamlMapping top = root.mapping(TOP_LEVEL_KEYS);

        SockmapConfig sockmap = readSockmap(top.optional("sockmap"));
        Optional<InetSocketAddress> admin = readAdmin(top.optional("admin"));
        // Clusters first, whatever their place in the file, so that routes can be checked against their names.
        Optional<YamlNode> clustersNode = top.optional("clusters");
        List<ClusterConfig> clusters = clustersNode.isPresent() ? ClusterSection.read(clustersNode.get()) : List.of();
        Set<String> clusterNames = new LinkedHashSet<>();
        clusters.forEach(cluster -> clusterNames.add(cluster.name()));
        List<ListenerConfig> listeners = ListenerSection.read(top.required("listeners"), clusterNames);

        FlowConfig flow = readFlow(top.optional("flow"));
        DataPlaneConfig dataplane = DataPlaneSection.readTopLevel(top);
        SocketBuffersConfig socketBuffers = readSocketBuffers(top.optional("socket_buffers"));
        return new FerryConfig(sockmap, admin, listeners, clusters, flow, dataplane, socketBuffers);
    }

    private static Node compose(String yaml, String sourceName) throws ConfigException {
        LoadSettings settings = LoadSettings.builder().setLabel(sourceName).build();
        try {
            Optional<Node> document = new Compose(settings).composeString(yaml);
            if (document.isEmpty()) {
                throw new ConfigException(sourceName, 1, 1, "(root)", "the file is empty");
            }
            return document.get();
        } catch (MarkedYamlEngineException syntax) {
            Optional<Mark> mark = syntax.getProblemMark().or(syntax::getContextMark);
            String problem = syntax.getContext() == null
                    ? syntax.getProblem()
                    : syntax.getContext() + ": " + syntax.getProblem();
            throw new ConfigException(sourceName, mark.map(Mark::getLine).orElse(0) + 1,
                    mark.map(Mark::getColumn).orElse(0) + 1, "(yaml syntax)", problem);
        } catch (YamlEngineException unreadable) {
            throw new ConfigException(sourceName, 1, 1, "(yaml syntax)", unreadable.getMessage());
        }
    }

    private static SockmapConfig readSockmap(Optional<YamlNode> node) throws ConfigException {
        if (node.isEmpty()) {
            return SockmapConfig.DEFAULTS;
        }
        YamlMapping sockmap = node.get().mapping(SOCKMAP_KEYS);
        return new SockmapConfig(sockmap.positiveInt("max_connections", MAX_SOCKMAP_CONNECTIONS,
                SockmapConfig.DEFAULT_MAX_CONNECTIONS));
    }

    private static SocketBuffersConfig readSocketBuffers(Optional<YamlNode> node) throws ConfigException {
        if (node.isEmpty()) {
            return SocketBuffersConfig.AUTOTUNED;
        }
        YamlMapping buffers = node.get().mapping(SOCKET_BUFFERS_KEYS);
        int[] bytes = new int[SOCKET_BUFFERS_KEYS.size()];
        for (int i = 0; i < bytes.length; i++) {
            Optional<YamlNode> value = buffers.optional(SOCKET_BUFFERS_KEYS.get(i));
            bytes[i] = value.isEmpty() ? 0 : (int) value.get().byteSize(SocketBuffersConfig.MAX_BYTES);
        }
        return new SocketBuffersConfig(bytes[0], bytes[1], bytes[2], bytes[3]);
    }

    private static FlowConfig readFlow(Optional<YamlNode> node) throws ConfigException {
        if (node.isEmpty()) {
            return FlowConfig.DEFAULTS;
        }
        YamlMapping flow = node.get().mapping(List.of("max_in_flight"));
        Optional<YamlNode> limit = flow.optional("max_in_flight");
        return limit.isEmpty() ? FlowConfig.DEFAULTS : new FlowConfig(limit.get().byteSize(1L << 40));
    }

    private static Optional<InetSocketAddress> readAdmin(Optional<YamlNode> node) throws ConfigException {
        if (node.isEmpty()) {
            return Optional.empty();
        }
        YamlMapping admin = node.get().mapping(ADMIN_KEYS);
        return Optional.of(admin.required("address").address(SocketAddresses.Port.ANY_ALLOWED));
    }
}
