package dev.ferry.route;

import java.util.Locale;

/**
 * Matches the host of an HTTP/1.x request exactly, ignoring case and the port. Connections that are not
 * HTTP/1.x, or whose request has no host, do not match.
 *
 * @param host as configured, without port; compared lowercased
 */
public record HostMatcher(String host) implements Matcher {

    public HostMatcher {
        host = host.toLowerCase(Locale.ROOT);
    }

    @Override
    public Match test(FirstBytes connection) {
        return switch (connection.httpHead()) {
            case HttpRequestHead.NeedMore needMore -> Match.NEED_MORE;
            case HttpRequestHead.NotHttp notHttp -> Match.NO;
            case HttpRequestHead.Found head -> head.host().filter(host::equals).isPresent() ? Match.YES : Match.NO;
        };
    }
}
