package dev.ferry.config;

/**
 * Sizing of the kernel maps that splice connection pairs together.
 *
 * @param maxConnections how many client/backend pairs the maps can hold at once (YAML {@code max_connections},
 *     default {@value #DEFAULT_MAX_CONNECTIONS}); the maps are sized up front, so this bounds kernel memory
 */
public record SockmapConfig(int maxConnections) {

    public static final int DEFAULT_MAX_CONNECTIONS = 65536;
    public static final SockmapConfig DEFAULTS = new SockmapConfig(DEFAULT_MAX_CONNECTIONS);

    public SockmapConfig {
        if (maxConnections <= 0) {
            throw new IllegalArgumentException("maxConnections must be positive: " + maxConnections);
        }
    }
}
