package dev.ferry.handoff;

import io.netty.channel.Channel;

/**
 * Forwards the bytes of an established client/backend pair until the connection ends.
 *
 * <p>The plane takes ownership of both channels: it closes them on every path and reports the end
 * to the {@link ConnectionEnd} exactly once. When {@code forward} is called, every byte Ferry consumed
 * from the client has already been written to the backend, and neither channel is reading.
 */
public interface DataPlane {

    /** The name used in logs, stats and configuration: sockmap, splice or copy. */
    String name();

    void forward(ProxiedConnection connection, Channel client, Channel backend);

    /**
     * Whether the plane must find the client socket's queue at a segment boundary. The sockmap
     * verdict is handed queued segments whole, so a segment that Ferry's last first-packet read
     * stopped inside would be forwarded twice in part; the other planes read bytes, not segments.
     */
    default boolean needsSegmentBoundary() {
        return false;
    }
}
