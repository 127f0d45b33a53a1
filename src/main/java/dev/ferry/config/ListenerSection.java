package dev.ferry.config;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Reads the {@code listeners} list. */
final class ListenerSection {

    private static final List<String> KEYS = List.of("name", "address", "first_packet", "idle_timeout", "routes",
            "reuse_port", "dataplane", "proxy_protocol");
    private static final List<String> FIRST_PACKET_KEYS = List.of("max_bytes", "timeout");

    /** Beyond this a per-connection buffer costs more than any first packet Ferry can route on is worth. */
    private static final int MAX_FIRST_PACKET_BYTES = 1 << 20;

    private ListenerSection() {
    }

    static List<ListenerConfig> read(YamlNode listenersNode, Set<String> clusterNames) throws ConfigException {
        List<YamlNode> elements = listenersNode.sequence();
        if (elements.isEmpty()) {
            throw listenersNode.error("at least one listener is required");
        }
        List<ListenerConfig> listeners = new ArrayList<>();
        Map<String, YamlNode> namesSeen = new HashMap<>();
        Map<InetSocketAddress, YamlNode> addressesSeen = new LinkedHashMap<>();
        for (YamlNode element : elements) {
            YamlMapping listener = element.mapping(KEYS);
            YamlNode nameNode = listener.required("name");
            String name = nameNode.identifier();
            YamlNode earlierName = namesSeen.putIfAbsent(name, nameNode);
            if (earlierName != null) {
                throw nameNode.error("duplicate listener name '" + name + "' (first at line " + earlierName.line() + ")");
            }
            YamlNode addressNode = listener.required("address");
            InetSocketAddress address = addressNode.address(SocketAddresses.Port.ANY_ALLOWED);
            requireNoOverlap(address, addressNode, addressesSeen);
            FirstPacketConfig firstPacket = readFirstPacket(listener);
            Duration idleTimeout = listener.duration("idle_timeout", ListenerConfig.DEFAULT_IDLE_TIMEOUT);
            List<RouteConfig> routes = RouteSection.read(listener.required("routes"), firstPacket, clusterNames);
            boolean reusePort = listener.bool("reuse_port", false);
            Optional<DataPlaneMode> dataplane = DataPlaneSection.mode(listener);
            Optional<InboundProxyConfig> proxyProtocol = InboundProxySection.read(listener.optional("proxy_protocol"));
            listeners.add(new ListenerConfig(name, address, firstPacket, idleTimeout, routes, reusePort, dataplane,
                    proxyProtocol));
        }
        return listeners;
    }

    /** Two listeners cannot bind the same port when the addresses are equal or either is a wildcard. */
    private static void requireNoOverlap(InetSocketAddress address, YamlNode addressNode,
            Map<InetSocketAddress, YamlNode> addressesSeen) throws ConfigException {
        if (address.getPort() == 0) {
            return; // every port-0 listener gets a port of its own
        }
        for (Map.Entry<InetSocketAddress, YamlNode> earlier : addressesSeen.entrySet()) {
            InetSocketAddress other = earlier.getKey();
            boolean overlaps = other.getPort() == address.getPort()
                    && (other.getAddress().equals(address.getAddress())
                            || other.getAddress().isAnyLocalAddress()
                            || address.getAddress().isAnyLocalAddress());
            if (overlaps) {
                throw addressNode.error("address " + addressNode.text() + " overlaps the listener at line "
                        + earlier.getValue().line() + " (" + earlier.getValue().text() + ")");
            }
        }
        addressesSeen.put(address, addressNode);
    }

    private static FirstPacketConfig readFirstPacket(YamlMapping listener) throws ConfigException {
        Optional<YamlNode> firstPacketNode = listener.optional("first_packet");
        if (firstPacketNode.isEmpty()) {
            return FirstPacketConfig.DEFAULTS;
        }
        YamlMapping firstPacket = firstPacketNode.get().mapping(FIRST_PACKET_KEYS);
        return new FirstPacketConfig(
                firstPacket.positiveInt("max_bytes", MAX_FIRST_PACKET_BYTES, FirstPacketConfig.DEFAULT_MAX_BYTES),
                firstPacket.duration("timeout", FirstPacketConfig.DEFAULT_TIMEOUT));
    }
}
