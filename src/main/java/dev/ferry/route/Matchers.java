package dev.ferry.route;

import dev.ferry.config.AllMatch;
import dev.ferry.config.AlpnMatch;
import dev.ferry.config.AnyMatch;
import dev.ferry.config.DestinationPortMatch;
import dev.ferry.config.HostMatch;
import dev.ferry.config.KafkaClientIdMatch;
import dev.ferry.config.MatchConfig;
import dev.ferry.config.MethodMatch;
import dev.ferry.config.NotMatch;
import dev.ferry.config.PathPrefixMatch;
import dev.ferry.config.PrefixMatch;
import dev.ferry.config.SniMatch;
import dev.ferry.config.SourceMatch;
import dev.ferry.config.TlsMatch;
import dev.ferry.config.TokenMatch;
import java.time.Clock;

/** Turns configured conditions into matchers. */
public final class Matchers {

    private Matchers() {
    }

    public static Matcher of(MatchConfig match) {
        return of(match, Clock.systemUTC());
    }

    /** @param clock what token expiry is checked against */
    public static Matcher of(MatchConfig match, Clock clock) {
        // No default branch: a new kind of MatchConfig must fail to compile here until it has a matcher.
        return switch (match) {
            case SniMatch sni -> new SniMatcher(sni.pattern());
            case HostMatch host -> new HostMatcher(host.host());
            case PrefixMatch prefix -> new PrefixMatcher(prefix.bytes());
            case AlpnMatch alpn -> new AlpnMatcher(alpn.protocols());
            case TlsMatch tls -> new TlsMatcher(tls.tls());
            case MethodMatch method -> new MethodMatcher(method.methods());
            case PathPrefixMatch path -> new PathPrefixMatcher(path.prefix());
            case SourceMatch source -> new SourceMatcher(source.networks());
            case DestinationPortMatch port -> new DestinationPortMatcher(port.ranges());
            case TokenMatch token -> new TokenMatcher(token, clock);
            case KafkaClientIdMatch kafka -> new KafkaClientIdMatcher(kafka.pattern());
            case AllMatch all -> new Logic.All(all.conditions().stream().map(c -> of(c, clock)).toList());
            case AnyMatch any -> new Logic.Any(any.conditions().stream().map(c -> of(c, clock)).toList());
            case NotMatch not -> new Logic.Not(of(not.condition(), clock));
        };
    }

    /** Whether any condition in {@code match} reads a {@code FERRY <token>} preamble. */
    static boolean usesPreamble(MatchConfig match) {
        return switch (match) {
            case TokenMatch token -> token.carrier().from() == TokenMatch.From.PREAMBLE;
            case AllMatch all -> all.conditions().stream().anyMatch(Matchers::usesPreamble);
            case AnyMatch any -> any.conditions().stream().anyMatch(Matchers::usesPreamble);
            case NotMatch not -> usesPreamble(not.condition());
            default -> false;
        };
    }
}
