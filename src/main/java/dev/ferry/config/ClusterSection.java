package dev.ferry.config;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Function;

/** Reads the {@code clusters} list. */
final class ClusterSection {

    private static final List<String> KEYS = List.of("name", "endpoints", "connect_timeout", "dns_refresh",
            "load_balancing", "hash_on", "health_check", "outlier_detection", "proxy_protocol", "max_connections",
            "max_connections_per_source");
    private static final List<String> ENDPOINT_KEYS = List.of("address", "weight");
    private static final List<String> HEALTH_CHECK_KEYS = List.of("interval", "timeout", "rise", "fall", "send", "expect");
    private static final List<String> OUTLIER_KEYS = List.of("consecutive_failures", "ejection_time");

    /** A typo guard, as for the sockmap size. */
    private static final int MAX_CONNECTIONS = 1 << 24;
    /** Far more than anyone means; rise and fall count checks. */
    private static final int MAX_CHECK_COUNT = 1000;

    private ClusterSection() {
    }

    static List<ClusterConfig> read(YamlNode clusters) throws ConfigException {
        List<ClusterConfig> result = new ArrayList<>();
        Map<String, YamlNode> namesSeen = new HashMap<>();
        for (YamlNode element : clusters.sequence()) {
            YamlMapping cluster = element.mapping(KEYS);
            YamlNode nameNode = cluster.required("name");
            String name = nameNode.identifier();
            YamlNode earlier = namesSeen.putIfAbsent(name, nameNode);
            if (earlier != null) {
                throw nameNode.error("duplicate cluster name '" + name + "' (first at line " + earlier.line() + ")");
            }
            List<EndpointConfig> endpoints = readEndpoints(cluster.required("endpoints"));
            Duration connectTimeout = cluster.duration("connect_timeout", ClusterConfig.DEFAULT_CONNECT_TIMEOUT);
            Duration dnsRefresh = cluster.duration("dns_refresh", ClusterConfig.DEFAULT_DNS_REFRESH);
            LoadBalancing loadBalancing = cluster.optional("load_balancing").isPresent()
                    ? choice(cluster.optional("load_balancing").get(), LoadBalancing.values(), LoadBalancing::yamlName)
                    : LoadBalancing.ROUND_ROBIN;
            Optional<HashOn> hashOn = readHashOn(cluster, loadBalancing);
            Optional<HealthCheckConfig> healthCheck = cluster.optional("health_check").isPresent()
                    ? Optional.of(readHealthCheck(cluster.optional("health_check").get()))
                    : Optional.empty();
            Optional<OutlierDetectionConfig> outlier = cluster.optional("outlier_detection").isPresent()
                    ? Optional.of(readOutlierDetection(cluster.optional("outlier_detection").get()))
                    : Optional.empty();
            Optional<ProxyProtocol> proxyProtocol = cluster.optional("proxy_protocol").isPresent()
                    ? Optional.of(choice(cluster.optional("proxy_protocol").get(), ProxyProtocol.values(),
                            ProxyProtocol::yamlName))
                    : Optional.empty();
            OptionalInt maxConnections = optionalPositive(cluster, "max_connections");
            OptionalInt maxPerSource = optionalPositive(cluster, "max_connections_per_source");
            if (maxConnections.isPresent() && maxPerSource.isPresent()
                    && maxPerSource.getAsInt() > maxConnections.getAsInt()) {
                throw cluster.required("max_connections_per_source").error("max_connections_per_source ("
                        + maxPerSource.getAsInt() + ") exceeds max_connections (" + maxConnections.getAsInt() + ")");
            }
            result.add(new ClusterConfig(name, endpoints, connectTimeout, dnsRefresh, loadBalancing, hashOn,
                    healthCheck, outlier, proxyProtocol, maxConnections, maxPerSource));
        }
        return result;
    }

    private static List<EndpointConfig> readEndpoints(YamlNode endpointsNode) throws ConfigException {
        List<YamlNode> elements = endpointsNode.sequence();
        if (elements.isEmpty()) {
            throw endpointsNode.error("a cluster needs at least one endpoint");
        }
        List<EndpointConfig> endpoints = new ArrayList<>();
        List<InetSocketAddress> seen = new ArrayList<>();
        for (YamlNode element : elements) {
            YamlNode addressNode = element;
            int weight = 1;
            if (element.isMapping()) {
                YamlMapping entry = element.mapping(ENDPOINT_KEYS);
                addressNode = entry.required("address");
                weight = entry.positiveInt("weight", EndpointConfig.MAX_WEIGHT, 1);
            }
            InetSocketAddress endpoint = addressNode.endpoint();
            if (seen.contains(endpoint)) {
                throw addressNode.error("duplicate endpoint " + addressNode.text());
            }
            seen.add(endpoint);
            endpoints.add(new EndpointConfig(endpoint, weight));
        }
        return endpoints;
    }

    private static Optional<HashOn> readHashOn(YamlMapping cluster, LoadBalancing loadBalancing) throws ConfigException {
        Optional<YamlNode> node = cluster.optional("hash_on");
        if (loadBalancing != LoadBalancing.CONSISTENT_HASH) {
            if (node.isPresent()) {
                throw node.get().error("hash_on applies only to load_balancing: consistent_hash");
            }
            return Optional.empty();
        }
        if (node.isEmpty()) {
            throw cluster.required("load_balancing").error("consistent_hash needs hash_on: sni, host or source");
        }
        return Optional.of(choice(node.get(), HashOn.values(), HashOn::yamlName));
    }

    private static HealthCheckConfig readHealthCheck(YamlNode node) throws ConfigException {
        YamlMapping check = node.mapping(HEALTH_CHECK_KEYS);
        Optional<String> send = check.optional("send").isPresent()
                ? Optional.of(check.optional("send").get().nonEmptyText())
                : Optional.empty();
        Optional<String> expect = check.optional("expect").isPresent()
                ? Optional.of(check.optional("expect").get().nonEmptyText())
                : Optional.empty();
        return new HealthCheckConfig(
                check.duration("interval", HealthCheckConfig.DEFAULT_INTERVAL),
                check.duration("timeout", HealthCheckConfig.DEFAULT_TIMEOUT),
                check.positiveInt("rise", MAX_CHECK_COUNT, HealthCheckConfig.DEFAULT_RISE),
                check.positiveInt("fall", MAX_CHECK_COUNT, HealthCheckConfig.DEFAULT_FALL),
                send, expect);
    }

    private static OutlierDetectionConfig readOutlierDetection(YamlNode node) throws ConfigException {
        YamlMapping outlier = node.mapping(OUTLIER_KEYS);
        return new OutlierDetectionConfig(
                outlier.positiveInt("consecutive_failures", MAX_CHECK_COUNT,
                        OutlierDetectionConfig.DEFAULT_CONSECUTIVE_FAILURES),
                outlier.duration("ejection_time", OutlierDetectionConfig.DEFAULT_EJECTION_TIME));
    }

    private static OptionalInt optionalPositive(YamlMapping mapping, String key) throws ConfigException {
        Optional<YamlNode> node = mapping.optional(key);
        return node.isPresent() ? OptionalInt.of(node.get().positiveInt(MAX_CONNECTIONS)) : OptionalInt.empty();
    }

    private static <T> T choice(YamlNode node, T[] values, Function<T, String> yamlName) throws ConfigException {
        String text = node.text();
        for (T value : values) {
            if (yamlName.apply(value).equals(text)) {
                return value;
            }
        }
        throw node.error("unknown value '" + text + "' (allowed: "
                + String.join(", ", Arrays.stream(values).map(yamlName).toList()) + ")");
    }
}
