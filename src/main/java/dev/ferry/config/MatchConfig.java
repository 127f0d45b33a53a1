package dev.ferry.config;

/**
 * A condition on a new connection: its first bytes, or where it comes from and goes to.
 *
 * <p>Sealed so that every switch over matchers is checked for completeness: adding a matcher means a new record
 * here, one entry in the loader's table of match keys, and the compiler then points at each place that must
 * learn about it.
 */
public sealed interface MatchConfig permits SniMatch, HostMatch, PrefixMatch, AlpnMatch, TlsMatch, MethodMatch,
        PathPrefixMatch, SourceMatch, DestinationPortMatch, TokenMatch, KafkaClientIdMatch, AllMatch, AnyMatch,
        NotMatch {
}
