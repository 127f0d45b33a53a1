package dev.ferry.config;

/**
 * Tells TLS from cleartext (YAML {@code tls: true|false}): {@code true} matches a connection that starts with a
 * well-formed TLS ClientHello, {@code false} one whose first bytes cannot be one.
 */
public record TlsMatch(boolean tls) implements MatchConfig {
}
