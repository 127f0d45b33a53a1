package dev.ferry.config;

/** How a cluster picks the endpoint of a new connection (YAML {@code load_balancing}). */
public enum LoadBalancing {
    /** Each endpoint in turn, in proportion to its weight (smooth weighted round robin, as nginx). */
    ROUND_ROBIN("round_robin"),
    /** The endpoint with the fewest open connections relative to its weight. */
    LEAST_CONNECTIONS("least_connections"),
    /** Two endpoints drawn at random by weight; the one with fewer open connections relative to weight wins. */
    RANDOM_TWO_CHOICES("random_two_choices"),
    /** A Maglev lookup table keyed by {@link HashOn}: the same key reaches the same endpoint. */
    CONSISTENT_HASH("consistent_hash");

    private final String yamlName;

    LoadBalancing(String yamlName) {
        this.yamlName = yamlName;
    }

    public String yamlName() {
        return yamlName;
    }
}
