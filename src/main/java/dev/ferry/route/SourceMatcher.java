package dev.ferry.route;

import dev.ferry.config.Cidr;
import java.util.List;

/**
 * Matches connections whose client address is in any of the networks. The client is the one a trusted PROXY
 * header names, else the socket's peer. Decided before any byte arrives.
 */
public record SourceMatcher(List<Cidr> networks) implements Matcher {

    public SourceMatcher {
        networks = List.copyOf(networks);
    }

    @Override
    public Match test(FirstBytes connection) {
        var address = connection.source().getAddress();
        if (address == null) {
            return Match.NO;
        }
        for (Cidr network : networks) {
            if (network.contains(address)) {
                return Match.YES;
            }
        }
        return Match.NO;
    }
}
