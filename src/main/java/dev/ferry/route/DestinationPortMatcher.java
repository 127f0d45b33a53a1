package dev.ferry.route;

import dev.ferry.config.DestinationPortMatch;
import java.util.List;

/**
 * Matches connections to any of the ports: the destination a trusted PROXY header gives, else the listener
 * socket's port. Decided before any byte arrives.
 */
public record DestinationPortMatcher(List<DestinationPortMatch.Range> ranges) implements Matcher {

    public DestinationPortMatcher {
        ranges = List.copyOf(ranges);
    }

    @Override
    public Match test(FirstBytes connection) {
        int port = connection.destination().getPort();
        return ranges.stream().anyMatch(range -> range.contains(port)) ? Match.YES : Match.NO;
    }
}
