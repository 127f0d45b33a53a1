package dev.ferry.route;

import dev.ferry.config.HostMatch;
import dev.ferry.config.MatchConfig;
import dev.ferry.config.PrefixMatch;
import dev.ferry.config.SniMatch;

/** Turns configured conditions into matchers. */
public final class Matchers {

    private Matchers() {
    }

    public static Matcher of(MatchConfig match) {
        // No default branch: a new kind of MatchConfig must fail to compile here until it has a matcher.
        return switch (match) {
            case SniMatch sni -> new SniMatcher(sni.pattern());
            case HostMatch host -> new HostMatcher(host.host());
            case PrefixMatch prefix -> new PrefixMatcher(prefix.bytes());
        };
    }
}
