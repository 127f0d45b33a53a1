package dev.ferry.config;

/**
 * Flow control of the sockmap plane (docs/flow-control.md).
 *
 * <p>On by default, so that a slow or stalled peer cannot make the kernel queue without limit. Its
 * price: once a fast, continuous stream has been held, it stays on the user-space path while it
 * lasts (docs/flow-control.md, "Known limits"), which costs the CPU the sockmap plane exists to save.
 *
 * @param maxInFlight per connection and direction, the bytes Ferry lets queue in the kernel
 *                    towards a peer beyond the sockets' own buffers; beyond it the sender is held
 *                    back by TCP. Zero turns flow control off (the kernel then queues without limit).
 */
public record FlowConfig(long maxInFlight) {
    public static final long DEFAULT_MAX_IN_FLIGHT = 4L * 1024 * 1024;
    public static final FlowConfig DEFAULTS = new FlowConfig(DEFAULT_MAX_IN_FLIGHT);

    public FlowConfig {
        if (maxInFlight < 0) {
            throw new IllegalArgumentException("maxInFlight must not be negative: " + maxInFlight);
        }
    }
}
