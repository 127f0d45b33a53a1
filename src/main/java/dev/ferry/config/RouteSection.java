package dev.ferry.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Reads a listener's ordered {@code routes}. */
final class RouteSection {

    private static final List<String> KEYS = List.of("match", "action", "cluster");

    private RouteSection() {
    }

    static List<RouteConfig> read(YamlNode routesNode, FirstPacketConfig firstPacket, Set<String> clusterNames)
            throws ConfigException {
        List<YamlNode> elements = routesNode.sequence();
        if (elements.isEmpty()) {
            throw routesNode.error("a listener needs at least one route");
        }
        List<RouteConfig> routes = new ArrayList<>();
        for (YamlNode element : elements) {
            if (!routes.isEmpty() && routes.getLast().isCatchAll()) {
                throw element.error("unreachable: the route before it has no match and takes every connection");
            }
            routes.add(readRoute(element, firstPacket, clusterNames));
        }
        return routes;
    }

    private static RouteConfig readRoute(YamlNode element, FirstPacketConfig firstPacket, Set<String> clusterNames)
            throws ConfigException {
        YamlMapping route = element.mapping(KEYS);
        Optional<YamlNode> matchNode = route.optional("match");
        Optional<MatchConfig> match = matchNode.isPresent()
                ? Optional.of(MatchSection.read(matchNode.get(), firstPacket))
                : Optional.empty();
        RouteAction action = readAction(route);
        Optional<YamlNode> clusterNode = route.optional("cluster");
        if (action == RouteAction.REJECT) {
            if (clusterNode.isPresent()) {
                throw clusterNode.get().error("a route with action: reject must not name a cluster");
            }
            return RouteConfig.reject(match);
        }
        if (clusterNode.isEmpty()) {
            throw element.error("missing 'cluster': a forwarding route needs one (or say action: reject)");
        }
        String cluster = clusterNode.get().text();
        if (!clusterNames.contains(cluster)) {
            throw clusterNode.get().error("unknown cluster '" + cluster + "' (defined: "
                    + (clusterNames.isEmpty() ? "none" : String.join(", ", clusterNames)) + ")");
        }
        return RouteConfig.forward(match, cluster);
    }

    private static RouteAction readAction(YamlMapping route) throws ConfigException {
        Optional<YamlNode> actionNode = route.optional("action");
        if (actionNode.isEmpty()) {
            return RouteAction.FORWARD;
        }
        return switch (actionNode.get().text()) {
            case "forward" -> RouteAction.FORWARD;
            case "reject" -> RouteAction.REJECT;
            default -> throw actionNode.get().error("unknown action '" + actionNode.get().text()
                    + "' (allowed: forward, reject)");
        };
    }
}
