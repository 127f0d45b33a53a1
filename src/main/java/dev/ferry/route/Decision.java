package dev.ferry.route;

import java.util.Objects;

/** Where a connection goes, as decided by a {@link Router} from its first bytes. */
public sealed interface Decision {

    NeedMore NEED_MORE = new NeedMore();
    NoMatch NO_MATCH = new NoMatch();

    /** A route that comes before any match cannot tell yet; read more and ask again. */
    record NeedMore() implements Decision {
    }

    /**
     * Connect to a cluster.
     *
     * @param routeIndex the position of the deciding route in the listener's list, for stats and logs
     */
    record Forward(String cluster, int routeIndex) implements Decision {

        public Forward {
            Objects.requireNonNull(cluster, "cluster");
        }
    }

    /** Close the connection, as a reject route says. */
    record Reject(int routeIndex) implements Decision {
    }

    /** No route takes the connection; close it. */
    record NoMatch() implements Decision {
    }
}
