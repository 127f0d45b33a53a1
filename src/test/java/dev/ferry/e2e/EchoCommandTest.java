package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.testing.FerryProcess;
import dev.ferry.testing.HashPeer;
import dev.ferry.testing.RandomStream;
import java.net.Socket;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code ferry echo}, end to end: the kernel sends every byte back; the process barely runs. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class EchoCommandTest {
    @TempDir
    Path workDir;

    @Test
    void theKernelEchoesEveryByteInOrder() throws Exception {
        int port = FerryProcess.freePort();
        try (FerryProcess echo = FerryProcess.start(workDir, "echo", "--listen", "127.0.0.1:" + port)) {
            echo.awaitListening(port, 30);
            long size = 64L * 1024 * 1024;
            Map<String, Long> threadsBefore = echo.cpuMillisByThread();
            for (int i = 0; i < 3; i++) {
                try (Socket client = new Socket("127.0.0.1", port)) {
                    client.setSoTimeout(60_000);
                    HashPeer.Received back = HashPeer.run(client, 40 + i, size).get(60, TimeUnit.SECONDS);
                    assertEquals(new HashPeer.Received(size, RandomStream.sha256(40 + i, size)), back);
                }
            }
            Map<String, Long> threadsAfter = echo.cpuMillisByThread();
            // The JIT compiles Ferry's own code meanwhile (C1 and C2 took 250-650 ms here): not payload.
            long cpu = threadsAfter.entrySet().stream()
                    .filter(thread -> !thread.getKey().matches("C[12] CompilerThre.*"))
                    .mapToLong(thread -> thread.getValue() - threadsBefore.getOrDefault(thread.getKey(), 0L))
                    .sum();
            assertTrue(cpu < 1000, "echoing 192 MiB took " + cpu + " ms of ferry CPU outside the JIT: payload went"
                    + " through the JVM? " + FerryProcess.cpuSpentBetween(threadsBefore, threadsAfter));
            assertTrue(echo.output().contains("listening on"), echo.output());
        }
    }
}
