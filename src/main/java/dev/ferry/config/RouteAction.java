package dev.ferry.config;

/** What a route does with a connection it matches. */
public enum RouteAction {
    /** Connect to the route's cluster and splice the pair. */
    FORWARD,
    /** Close the connection. */
    REJECT
}
