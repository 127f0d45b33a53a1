package dev.ferry;

import dev.ferry.config.SocketBuffersConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kernel silently caps SO_RCVBUF at net.core.rmem_max and SO_SNDBUF at wmem_max; a configured
 * size above the cap is worth a warning that names both, rather than a buffer smaller than asked.
 */
final class SocketBufferLimits {
    private static final Logger LOG = LoggerFactory.getLogger(SocketBufferLimits.class);

    private SocketBufferLimits() {}

    static void warnAboveKernelCaps(SocketBuffersConfig buffers) {
        OptionalLong rmemMax = sysctl("rmem_max");
        OptionalLong wmemMax = sysctl("wmem_max");
        warnIfAbove("client_receive", buffers.clientReceive(), "rmem_max", rmemMax);
        warnIfAbove("backend_receive", buffers.backendReceive(), "rmem_max", rmemMax);
        warnIfAbove("client_send", buffers.clientSend(), "wmem_max", wmemMax);
        warnIfAbove("backend_send", buffers.backendSend(), "wmem_max", wmemMax);
    }

    private static void warnIfAbove(String key, int bytes, String sysctl, OptionalLong cap) {
        if (cap.isPresent() && bytes > cap.getAsLong()) {
            LOG.warn("socket_buffers.{} is {} bytes, above net.core.{} ({}): the kernel uses {} instead",
                    key, bytes, sysctl, cap.getAsLong(), cap.getAsLong());
        }
    }

    private static OptionalLong sysctl(String name) {
        try {
            return OptionalLong.of(Long.parseLong(Files.readString(Path.of("/proc/sys/net/core", name)).trim()));
        } catch (IOException | NumberFormatException unreadable) {
            return OptionalLong.empty();
        }
    }
}
