package dev.ferry.config;

import java.util.Objects;
import java.util.Optional;

/**
 * One entry of a listener's ordered route table.
 *
 * @param match the condition; empty for a catch-all, which takes every connection that reaches it
 * @param action what to do with a matching connection
 * @param cluster where a {@link RouteAction#FORWARD} route sends it; empty exactly for {@link RouteAction#REJECT}
 */
public record RouteConfig(Optional<MatchConfig> match, RouteAction action, Optional<String> cluster) {

    public RouteConfig {
        Objects.requireNonNull(match, "match");
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(cluster, "cluster");
        if ((action == RouteAction.FORWARD) != cluster.isPresent()) {
            throw new IllegalArgumentException("a route names a cluster exactly when it forwards: " + action + " " + cluster);
        }
    }

    public static RouteConfig forward(Optional<MatchConfig> match, String cluster) {
        return new RouteConfig(match, RouteAction.FORWARD, Optional.of(cluster));
    }

    public static RouteConfig reject(Optional<MatchConfig> match) {
        return new RouteConfig(match, RouteAction.REJECT, Optional.empty());
    }

    public boolean isCatchAll() {
        return match.isEmpty();
    }
}
