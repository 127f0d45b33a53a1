package dev.ferry.route;

import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;

/** What to do with a connection, as decided by a {@link Router} from its first bytes and its addresses. */
public sealed interface Decision {

    NeedMore NEED_MORE = new NeedMore();

    /** A route that comes before any match cannot tell yet (or a PROXY header is incomplete); read more, ask again. */
    record NeedMore() implements Decision {
    }

    /**
     * Connect to a cluster.
     *
     * @param routeIndex the position of the deciding route in the listener's list, for stats and logs
     * @param facts what routing learned: effective client address, bytes to strip, SNI, Host
     */
    record Forward(String cluster, int routeIndex, ConnectionFacts facts) implements Decision {

        public Forward {
            Objects.requireNonNull(cluster, "cluster");
            Objects.requireNonNull(facts, "facts");
        }

        /** The TLS server name, lowercased; see {@link ConnectionFacts#sni()}. */
        public Optional<String> sni() {
            return facts.sni();
        }

        /** The HTTP/1.x host, lowercased, without port; see {@link ConnectionFacts#host()}. */
        public Optional<String> host() {
            return facts.host();
        }

        /** The client, after any trusted PROXY header. */
        public InetSocketAddress source() {
            return facts.source();
        }
    }

    /** Close the connection, as a reject route says. */
    record Reject(int routeIndex, ConnectionFacts facts) implements Decision {

        public Reject {
            Objects.requireNonNull(facts, "facts");
        }
    }

    /**
     * No route takes the connection; close it.
     *
     * @param reason the refusal reason when a condition failed for a reason worth its own count
     *     ({@code missing_token}, {@code bad_token}, {@code expired_token}, {@code wrong_tenant}); empty for a plain
     *     no-match, whose reason depends on the circumstances (no_route, first_packet_timeout...)
     */
    record NoMatch(Optional<String> reason, ConnectionFacts facts) implements Decision {

        public NoMatch {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(facts, "facts");
        }
    }

    /**
     * Refused before any route was tried: a trusted peer sent a malformed PROXY header
     * ({@code bad_proxy_header}) or none where one is required ({@code missing_proxy_header}).
     */
    record Refuse(String reason, ConnectionFacts facts) implements Decision {

        public Refuse {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(facts, "facts");
        }
    }
}
