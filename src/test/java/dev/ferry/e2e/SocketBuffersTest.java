package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.FerryProcess;
import dev.ferry.testing.SocketMemory;
import dev.ferry.testing.TestBackend;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code socket_buffers} reach Ferry's own sockets, as the kernel reports them. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class SocketBuffersTest {

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
                    SocketMemory.buffers("sport = :" + ferry.port() + " and dport = :" + client.getLocalPort()), "client side");
            assertEquals(List.of(2L * 72 * 1024, 2L * 64 * 1024),
                    SocketMemory.buffers("dport = :" + backend.address().getPort()), "backend side");
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
}
