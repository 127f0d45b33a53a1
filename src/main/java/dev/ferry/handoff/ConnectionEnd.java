package dev.ferry.handoff;

/** How a forwarded connection ended; the label appears in the access log and in stats. */
public enum ConnectionEnd {
    /** Both sides closed their sending direction after every byte was delivered. */
    CLOSED("closed"),
    CLIENT_RESET("client_reset"),
    BACKEND_RESET("backend_reset"),
    IDLE_TIMEOUT("idle_timeout"),
    /** The kernel could not deliver a redirected byte; the pair is reset rather than silently truncated. */
    FORWARDING_ERROR("forwarding_error"),
    SHUTDOWN("shutdown");

    private final String label;

    ConnectionEnd(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
