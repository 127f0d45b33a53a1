package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.FerryProcess;
import dev.ferry.testing.Processes;
import dev.ferry.testing.TestBackend;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code socket_buffers} reach Ferry's own sockets, as the kernel reports them. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class SocketBuffersTest {
    private static final Pattern SKMEM = Pattern.compile("rb(\\d+),t\\d+,tb(\\d+)");

    @TempDir
    Path workDir;

    @Test
    void fixedSizesReachTheClientAndTheBackendSocket() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (TestBackend backend = new TestBackend(socket -> {
                 release.await();
                 return null;
             });
             FerryHarness ferry = FerryHarness.start("socket_buffers: { client_receive: 96KiB, client_send: 80KiB,"
                     + " backend_receive: 72KiB, backend_send: 64KiB }\n" + FerryHarness.catchAllYaml(backend.endpoint()));
             Socket client = ferry.connect()) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (backend.accepted() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            // The kernel keeps twice what SO_RCVBUF and SO_SNDBUF asked for.
            assertEquals(List.of(2L * 96 * 1024, 2L * 80 * 1024),
                    buffers("sport = :" + ferry.port() + " and dport = :" + client.getLocalPort()), "client side");
            assertEquals(List.of(2L * 72 * 1024, 2L * 64 * 1024),
                    buffers("dport = :" + backend.address().getPort()), "backend side");
            release.countDown();
        }
    }

    @Test
    void aSizeAboveTheKernelsCapIsNamedInAWarning() throws Exception {
        long rmemMax = Long.parseLong(Files.readString(Path.of("/proc/sys/net/core/rmem_max")).trim());
        long asked = Math.min(1L << 30, 2 * rmemMax);
        assertTrue(asked > rmemMax, "net.core.rmem_max " + rmemMax + " leaves no size above it to ask for");
        int port = FerryProcess.freePort();
        Path config = workDir.resolve("ferry.yaml");
        Files.writeString(config, """
                socket_buffers: { client_receive: %d }
                listeners:
                  - name: edge
                    address: 127.0.0.1:%d
                    routes:
                      - action: reject
                """.formatted(asked, port));
        try (FerryProcess ferry = FerryProcess.start(workDir, "run", "--config", config.toString())) {
            ferry.awaitListening(port, 30);
            String expected = "socket_buffers.client_receive is " + asked + " bytes, above net.core.rmem_max ("
                    + rmemMax + "): the kernel uses " + rmemMax + " instead";
            assertTrue(ferry.output().contains(expected), ferry.output());
        }
    }

    /** rb and tb of the one TCP socket {@code filter} selects, from {@code ss -tm}. */
    private static List<Long> buffers(String filter) throws Exception {
        String ss = Processes.run(List.of("ss", "-Htmn", "state", "established", filter), "", 10);
        Matcher skmem = SKMEM.matcher(ss);
        assertTrue(skmem.find(), "no socket for '" + filter + "' in:\n" + ss);
        List<Long> found = List.of(Long.parseLong(skmem.group(1)), Long.parseLong(skmem.group(2)));
        assertTrue(!skmem.find(), "more than one socket for '" + filter + "' in:\n" + ss);
        return found;
    }
}
