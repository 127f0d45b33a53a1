package dev.ferry.config;

import java.util.List;

/**
 * Matches connections made to any of these ports (YAML {@code destination_port}). The port is the one a
 * trusted PROXY protocol header gives as destination, else the listener socket's own.
 */
public record DestinationPortMatch(List<Range> ranges) implements MatchConfig {

    /** Ports {@code first..last}, both included. */
    public record Range(int first, int last) {

        public Range {
            if (first < 1 || last > 65535 || first > last) {
                throw new IllegalArgumentException("bad port range " + first + "-" + last);
            }
        }

        public boolean contains(int port) {
            return port >= first && port <= last;
        }
    }

    public DestinationPortMatch {
        ranges = List.copyOf(ranges);
        if (ranges.isEmpty()) {
            throw new IllegalArgumentException("no ports");
        }
    }
}
