package dev.ferry.config;

/** What {@link LoadBalancing#CONSISTENT_HASH} hashes (YAML {@code hash_on}). */
public enum HashOn {
    /** The TLS server name; connections without one hash on the source address. */
    SNI("sni"),
    /** The HTTP Host header, without port, lower case; requests without one hash on the source address. */
    HOST("host"),
    /** The client's IP address (not its port). */
    SOURCE("source");

    private final String yamlName;

    HashOn(String yamlName) {
        this.yamlName = yamlName;
    }

    public String yamlName() {
        return yamlName;
    }
}
