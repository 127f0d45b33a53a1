package dev.ferry.config;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Reads the {@code clusters} list. */
final class ClusterSection {

    private static final List<String> KEYS = List.of("name", "endpoints", "connect_timeout");

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
            List<InetSocketAddress> endpoints = readEndpoints(cluster.required("endpoints"));
            Duration connectTimeout = cluster.duration("connect_timeout", ClusterConfig.DEFAULT_CONNECT_TIMEOUT);
            result.add(new ClusterConfig(name, endpoints, connectTimeout));
        }
        return result;
    }

    private static List<InetSocketAddress> readEndpoints(YamlNode endpointsNode) throws ConfigException {
        List<YamlNode> elements = endpointsNode.sequence();
        if (elements.isEmpty()) {
            throw endpointsNode.error("a cluster needs at least one endpoint");
        }
        List<InetSocketAddress> endpoints = new ArrayList<>();
        for (YamlNode element : elements) {
            InetSocketAddress endpoint = element.address(SocketAddresses.Port.FIXED);
            if (endpoints.contains(endpoint)) {
                throw element.error("duplicate endpoint " + element.text());
            }
            endpoints.add(endpoint);
        }
        return endpoints;
    }
}
