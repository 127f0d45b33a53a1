package dev.ferry.route;

import dev.ferry.config.ListenerConfig;
import dev.ferry.config.RouteAction;
import dev.ferry.config.RouteConfig;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Picks a listener's route for a connection from its first bytes: routes are tried in order and the first one
 * that matches decides. Immutable, so one instance serves every connection of a listener on any thread.
 */
public final class Router {

    /** @param matcher empty for a catch-all */
    private record Route(Optional<Matcher> matcher, Decision onMatch) {
    }

    private final List<Route> routes;

    private Router(List<RouteConfig> routes) {
        List<Route> built = new ArrayList<>();
        for (RouteConfig route : routes) {
            int index = built.size();
            Decision onMatch = route.action() == RouteAction.REJECT
                    ? new Decision.Reject(index)
                    : new Decision.Forward(route.cluster().orElseThrow(), index);
            built.add(new Route(route.match().map(Matchers::of), onMatch));
        }
        this.routes = List.copyOf(built);
    }

    /** @param routes a listener's routes, in order; the loader has checked that forwarding routes name a cluster */
    public static Router of(List<RouteConfig> routes) {
        return new Router(routes);
    }

    public static Router forListener(ListenerConfig listener) {
        return of(listener.routes());
    }

    /**
     * Decides while more bytes may still come. A route that needs more bytes ends the search with
     * {@link Decision#NEED_MORE} even if a later route would match now: first-match order must not depend on
     * how the client's bytes were split into packets.
     *
     * @param firstBytes every byte received so far, from position to limit; left unchanged
     */
    public Decision decide(ByteBuffer firstBytes) {
        return decide(firstBytes, false);
    }

    /**
     * Decides when no more bytes will be waited for: the first-packet timeout passed, the first-packet buffer is
     * full, or the client stopped sending. A route still needing more then counts as not matching, as HAProxy
     * treats rules still lacking data when {@code tcp-request inspect-delay} expires. Never answers
     * {@link Decision#NEED_MORE}.
     */
    public Decision decideFinal(ByteBuffer firstBytes) {
        return decide(firstBytes, true);
    }

    private Decision decide(ByteBuffer firstBytes, boolean noMoreBytes) {
        for (Route route : routes) {
            Match match = route.matcher().isPresent() ? route.matcher().get().test(firstBytes) : Match.YES;
            if (match == Match.YES) {
                return route.onMatch();
            }
            if (match == Match.NEED_MORE && !noMoreBytes) {
                return Decision.NEED_MORE;
            }
        }
        return Decision.NO_MATCH;
    }
}
