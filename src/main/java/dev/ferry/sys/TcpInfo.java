package dev.ferry.sys;

/**
 * The fields of Linux {@code struct tcp_info} that Ferry compares with its own counters.
 *
 * <p>Measured on Linux 6.18 loopback (SocketsTest): {@code bytesAcked} counts the SYN on the
 * side that connected (N bytes sent and acked read N + 1 there) but not on the side that
 * accepted (reads N). {@code bytesReceived} counts payload only, on both sides.
 *
 * @param state         TCP state, as in {@code include/net/tcp_states.h} (1 = ESTABLISHED)
 * @param bytesAcked    bytes acked by the peer ({@code tcpi_bytes_acked})
 * @param bytesReceived payload bytes received ({@code tcpi_bytes_received})
 * @param bytesSent     payload bytes sent, retransmissions included ({@code tcpi_bytes_sent})
 * @param bytesRetrans  payload bytes retransmitted ({@code tcpi_bytes_retrans})
 * @param notsentBytes  bytes queued but not yet sent ({@code tcpi_notsent_bytes})
 */
public record TcpInfo(int state, long bytesAcked, long bytesReceived, long bytesSent, long bytesRetrans,
                      int notsentBytes) {
    public static final int ESTABLISHED = 1;
    /** Closed: after a reset, or once both FINs were exchanged and acknowledged. */
    public static final int CLOSE = 7;
    private static final String[] STATE_NAMES = {"", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
        "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"};

    /** The kernel's name of a TCP state, for messages. */
    public static String stateName(int state) {
        return state > 0 && state < STATE_NAMES.length ? STATE_NAMES[state] : "state " + state;
    }
}
