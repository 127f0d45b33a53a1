package dev.ferry.config;

/** The PROXY protocol header Ferry writes to a cluster's backends before any client byte (YAML {@code proxy_protocol}). */
public enum ProxyProtocol {
    /** The text header, {@code PROXY TCP4 <src> <dst> <sport> <dport>\r\n}. */
    V1("v1"),
    /** The binary header with the 12-byte signature. */
    V2("v2");

    private final String yamlName;

    ProxyProtocol(String yamlName) {
        this.yamlName = yamlName;
    }

    public String yamlName() {
        return yamlName;
    }
}
