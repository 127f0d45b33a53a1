package dev.ferry.route;

import java.util.Locale;

/**
 * Matches the server name of a TLS ClientHello: exactly, ignoring case, or with a leading {@code *.} wildcard
 * that stands for one or more labels ({@code *.example.com} matches {@code a.example.com} and
 * {@code a.b.example.com} but not {@code example.com}). Connections that are not TLS, or send no server name,
 * do not match.
 *
 * @param pattern as configured; compared lowercased
 */
public record SniMatcher(String pattern) implements Matcher {

    public SniMatcher {
        pattern = pattern.toLowerCase(Locale.ROOT);
    }

    @Override
    public Match test(FirstBytes connection) {
        return switch (connection.clientHello()) {
            case ClientHello.NeedMore needMore -> Match.NEED_MORE;
            case ClientHello.NotTls notTls -> Match.NO;
            case ClientHello.Found hello -> hello.serverName().filter(this::matches).isPresent() ? Match.YES : Match.NO;
        };
    }

    /** @param serverName lowercase, as {@link ClientHello.Found} gives it */
    boolean matches(String serverName) {
        if (pattern.startsWith("*.")) {
            String dotSuffix = pattern.substring(1);
            return serverName.length() > dotSuffix.length() && serverName.endsWith(dotSuffix);
        }
        return serverName.equals(pattern);
    }
}
