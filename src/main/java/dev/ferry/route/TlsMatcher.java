package dev.ferry.route;

/**
 * {@code tls: true} matches a connection that starts with a well-formed TLS ClientHello (TLS 1.0 to 1.3);
 * {@code tls: false} one whose first bytes cannot be one. Both wait while the bytes could still become one.
 */
public record TlsMatcher(boolean tls) implements Matcher {

    @Override
    public Match test(FirstBytes connection) {
        return switch (connection.clientHello()) {
            case ClientHello.NeedMore needMore -> Match.NEED_MORE;
            case ClientHello.NotTls notTls -> tls ? Match.NO : Match.YES;
            case ClientHello.Found hello -> tls ? Match.YES : Match.NO;
        };
    }
}
