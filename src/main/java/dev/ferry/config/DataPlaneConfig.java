package dev.ferry.config;

import java.util.Objects;

/**
 * The top-level data plane settings.
 *
 * @param mode the plane every listener uses unless it names its own (YAML {@code dataplane}, default auto)
 * @param splicePipeBytes the capacity asked for each of a spliced connection's two pipes (YAML
 *     {@code splice: { pipe_bytes }}, default {@value #DEFAULT_SPLICE_PIPE_BYTES}); it bounds what the
 *     splice plane holds per connection and direction
 * @param copyBufferBytes per connection and direction, the bytes the copy plane queues towards a side
 *     before it stops reading the other (YAML {@code copy: { buffer_bytes }}, default
 *     {@value #DEFAULT_COPY_BUFFER_BYTES}); the write buffer's high water mark
 */
public record DataPlaneConfig(DataPlaneMode mode, int splicePipeBytes, int copyBufferBytes) {

    public static final int DEFAULT_SPLICE_PIPE_BYTES = 256 * 1024;
    public static final int DEFAULT_COPY_BUFFER_BYTES = 64 * 1024;
    public static final DataPlaneConfig DEFAULTS =
            new DataPlaneConfig(DataPlaneMode.AUTO, DEFAULT_SPLICE_PIPE_BYTES, DEFAULT_COPY_BUFFER_BYTES);

    public DataPlaneConfig {
        Objects.requireNonNull(mode, "mode");
        if (splicePipeBytes <= 0) {
            throw new IllegalArgumentException("splicePipeBytes must be positive: " + splicePipeBytes);
        }
        if (copyBufferBytes <= 0) {
            throw new IllegalArgumentException("copyBufferBytes must be positive: " + copyBufferBytes);
        }
    }
}
