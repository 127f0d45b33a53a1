package dev.ferry.config;

import java.util.List;

/**
 * Matches connections whose client address lies in any of these networks (YAML {@code source}). The client
 * address is the one a trusted PROXY protocol header gives, else the socket's peer.
 */
public record SourceMatch(List<Cidr> networks) implements MatchConfig {

    public SourceMatch {
        networks = List.copyOf(networks);
        if (networks.isEmpty()) {
            throw new IllegalArgumentException("no networks");
        }
    }
}
