package dev.ferry.config;

/**
 * Fixed kernel buffer sizes for Ferry's own sockets, as HAProxy's {@code tune.rcvbuf.client},
 * {@code tune.sndbuf.client}, {@code tune.rcvbuf.server} and {@code tune.sndbuf.server}. Zero, the
 * default, leaves a buffer to the kernel's autotuning.
 *
 * <p>Each value is given to {@code SO_RCVBUF} or {@code SO_SNDBUF}: the kernel caps it at
 * {@code net.core.rmem_max} or {@code wmem_max} and doubles it for its bookkeeping, and autotuning
 * stops for that socket. Small buffers bound what a stalled peer can make Ferry hold
 * (docs/flow-control.md) at the price of throughput over long round trips: a receive buffer of B
 * bytes lets about B/2 be in flight per round trip.
 *
 * @param clientReceive SO_RCVBUF of accepted client sockets (YAML {@code client_receive})
 * @param clientSend SO_SNDBUF of accepted client sockets (YAML {@code client_send})
 * @param backendReceive SO_RCVBUF of backend sockets (YAML {@code backend_receive})
 * @param backendSend SO_SNDBUF of backend sockets (YAML {@code backend_send})
 */
public record SocketBuffersConfig(int clientReceive, int clientSend, int backendReceive, int backendSend) {
    /** Far above any sensible buffer; the kernel caps at rmem_max/wmem_max anyway. */
    public static final int MAX_BYTES = 1 << 30;
    public static final SocketBuffersConfig AUTOTUNED = new SocketBuffersConfig(0, 0, 0, 0);

    public SocketBuffersConfig {
        for (int bytes : new int[] {clientReceive, clientSend, backendReceive, backendSend}) {
            if (bytes < 0 || bytes > MAX_BYTES) {
                throw new IllegalArgumentException("a socket buffer size must be within 0.." + MAX_BYTES + ": " + bytes);
            }
        }
    }
}
