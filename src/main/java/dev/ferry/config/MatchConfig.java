package dev.ferry.config;

/**
 * A condition on the first bytes of a connection.
 *
 * <p>Sealed so that every switch over matchers is checked for completeness: adding a matcher (alpn, method,
 * source address...) means a new record here, one entry in the loader's table of match keys, and the compiler
 * then points at each place that must learn about it.
 */
public sealed interface MatchConfig permits SniMatch, HostMatch, PrefixMatch {
}
