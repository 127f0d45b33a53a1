package dev.ferry.route;

import dev.ferry.config.HttpPaths;
import java.util.Optional;

/**
 * Matches HTTP/1.x requests whose path, normalized, starts with a prefix; decided on the request line.
 *
 * <p>The path is that of an origin-form target ({@code /a/b?q}) or of an absolute-form one
 * ({@code http://host/a/b}, where an empty path is {@code /}), without query or fragment, normalized by
 * {@link HttpPaths#normalize}. Targets without a path ({@code *}, {@code host:port} of CONNECT) and paths with
 * malformed percent-encoding do not match.
 *
 * @param prefix in normal form, as the configuration loader checks
 */
public record PathPrefixMatcher(String prefix) implements Matcher {

    @Override
    public Match test(FirstBytes connection) {
        return switch (connection.requestLine()) {
            case HttpRequestHead.NeedMore needMore -> Match.NEED_MORE;
            case HttpRequestHead.NotHttp notHttp -> Match.NO;
            case HttpRequestHead.RequestLine line ->
                    path(line.target()).flatMap(HttpPaths::normalize).filter(p -> p.startsWith(prefix)).isPresent()
                            ? Match.YES : Match.NO;
        };
    }

    /** The path of an origin-form or absolute-form target, without query and fragment. */
    static Optional<String> path(String target) {
        String path;
        if (target.startsWith("/")) {
            path = target;
        } else {
            int scheme = target.indexOf("://");
            String lower = target.toLowerCase(java.util.Locale.ROOT);
            if (scheme < 0 || !(lower.startsWith("http://") || lower.startsWith("https://"))) {
                return Optional.empty();
            }
            int slash = target.indexOf('/', scheme + 3);
            int query = target.indexOf('?', scheme + 3);
            if (slash < 0 || (query >= 0 && query < slash)) {
                return Optional.of("/");
            }
            path = target.substring(slash);
        }
        int end = path.length();
        int query = path.indexOf('?');
        int fragment = path.indexOf('#');
        if (query >= 0) {
            end = query;
        }
        if (fragment >= 0 && fragment < end) {
            end = fragment;
        }
        return Optional.of(path.substring(0, end));
    }
}
