package dev.ferry.config;

import java.util.List;
import java.util.Optional;

/** Reads {@code dataplane}, {@code splice} and {@code copy} at the top level, and a listener's {@code dataplane}. */
final class DataPlaneSection {

    static final List<String> TOP_LEVEL_KEYS = List.of("dataplane", "splice", "copy");
    private static final List<String> SPLICE_KEYS = List.of("pipe_bytes");
    private static final List<String> COPY_KEYS = List.of("buffer_bytes");

    /** One page: the least a pipe holds. */
    private static final int MIN_PIPE_BYTES = 4096;
    /** Beyond this the kernel refuses an unprivileged F_SETPIPE_SZ (fs.pipe-max-size) anyway. */
    private static final int MAX_PIPE_BYTES = 64 << 20;
    private static final int MIN_COPY_BUFFER_BYTES = 1024;
    private static final int MAX_COPY_BUFFER_BYTES = 64 << 20;

    private DataPlaneSection() {
    }

    static DataPlaneConfig readTopLevel(YamlMapping top) throws ConfigException {
        DataPlaneMode mode = mode(top).orElse(DataPlaneMode.AUTO);
        int pipeBytes = DataPlaneConfig.DEFAULT_SPLICE_PIPE_BYTES;
        Optional<YamlNode> splice = top.optional("splice");
        if (splice.isPresent()) {
            pipeBytes = bytes(splice.get().mapping(SPLICE_KEYS), "pipe_bytes", MIN_PIPE_BYTES, MAX_PIPE_BYTES,
                    DataPlaneConfig.DEFAULT_SPLICE_PIPE_BYTES);
        }
        int bufferBytes = DataPlaneConfig.DEFAULT_COPY_BUFFER_BYTES;
        Optional<YamlNode> copy = top.optional("copy");
        if (copy.isPresent()) {
            bufferBytes = bytes(copy.get().mapping(COPY_KEYS), "buffer_bytes", MIN_COPY_BUFFER_BYTES,
                    MAX_COPY_BUFFER_BYTES, DataPlaneConfig.DEFAULT_COPY_BUFFER_BYTES);
        }
        return new DataPlaneConfig(mode, pipeBytes, bufferBytes);
    }

    /** The {@code dataplane} key of a mapping (the top level or a listener), if present. */
    static Optional<DataPlaneMode> mode(YamlMapping mapping) throws ConfigException {
        Optional<YamlNode> node = mapping.optional("dataplane");
        if (node.isEmpty()) {
            return Optional.empty();
        }
        String text = node.get().text();
        Optional<DataPlaneMode> mode = DataPlaneMode.fromYaml(text);
        if (mode.isEmpty()) {
            throw node.get().error("unknown data plane '" + text + "': expected one of " + DataPlaneMode.choices());
        }
        return mode;
    }

    private static int bytes(YamlMapping mapping, String key, int min, int max, int fallback) throws ConfigException {
        Optional<YamlNode> node = mapping.optional(key);
        if (node.isEmpty()) {
            return fallback;
        }
        int value = node.get().positiveInt(max);
        if (value < min) {
            throw node.get().error("must be at least " + min + ", got " + value);
        }
        return value;
    }
}
