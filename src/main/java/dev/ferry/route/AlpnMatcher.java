package dev.ferry.route;

import java.util.List;

/**
 * Matches TLS clients that offer any of the given application protocols (ALPN). Connections that are not TLS, or
 * offer none of them, do not match.
 */
public record AlpnMatcher(List<String> protocols) implements Matcher {

    public AlpnMatcher {
        protocols = List.copyOf(protocols);
    }

    @Override
    public Match test(FirstBytes connection) {
        return switch (connection.clientHello()) {
            case ClientHello.NeedMore needMore -> Match.NEED_MORE;
            case ClientHello.NotTls notTls -> Match.NO;
            case ClientHello.Found hello ->
                    hello.alpnProtocols().stream().anyMatch(protocols::contains) ? Match.YES : Match.NO;
        };
    }
}
