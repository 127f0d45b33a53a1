package dev.ferry.config;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * Which data plane forwards a listener's connections after the first packet (YAML {@code dataplane}).
 * The YAML names are the lower-case constant names.
 */
public enum DataPlaneMode {
    /** The kernel redirects every byte between the two sockets (eBPF sk_skb verdict); needs privileges. */
    SOCKMAP,
    /** splice(2) through a pipe per direction: the bytes never enter user space; works for any user. */
    SPLICE,
    /** Netty reads and writes with bounded buffers: works everywhere. */
    COPY,
    /** sockmap if this process can load and attach the program, else splice, else copy (the default). */
    AUTO;

    /** The name used in YAML, logs and stats. */
    public String yamlName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<DataPlaneMode> fromYaml(String text) {
        return Arrays.stream(values()).filter(mode -> mode.yamlName().equals(text)).findFirst();
    }

    static String choices() {
        return String.join(", ", Arrays.stream(values()).map(DataPlaneMode::yamlName).toList());
    }
}
