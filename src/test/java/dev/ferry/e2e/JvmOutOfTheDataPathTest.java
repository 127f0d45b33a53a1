package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.testing.FerryProcess;
import dev.ferry.testing.TestBackend;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** While 2 GiB flow through one connection, Ferry's own CPU time stays under 5% of the wall time. */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class JvmOutOfTheDataPathTest {
    private static final long SIZE = 2L * 1024 * 1024 * 1024;

    @TempDir
    Path workDir;

    @Test
    void ferryUsesUnderFivePercentCpuWhileTwoGibibytesFlow() throws Exception {
        try (TestBackend backend = new TestBackend(socket -> {
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[256 * 1024];
            long total = 0;
            int n;
            while ((n = in.read(buffer)) >= 0) {
                total += n;
            }
            socket.getOutputStream().write(Long.toString(total).getBytes());
            return total;
        })) {
            int port = FerryProcess.freePort();
            Path config = workDir.resolve("ferry.yaml");
            Files.writeString(config, """
                    listeners:
                      - name: edge
                        address: 127.0.0.1:%d
                        routes:
                          - cluster: sink
                    clusters:
                      - { name: sink, endpoints: ["%s"] }
                    """.formatted(port, backend.endpoint()));
            try (FerryProcess ferry = FerryProcess.start(workDir, "run", "--config", config.toString())) {
                ferry.awaitListening(port, 30);
                // One connection first, so that loading and compiling the accept, routing and handoff
                // code, a one-time cost of a fresh process, is not counted against the transfer.
                try (Socket warmUp = new Socket("127.0.0.1", port)) {
                    warmUp.getOutputStream().write(new byte[1024 * 1024]);
                    warmUp.shutdownOutput();
                    assertEquals(Long.toString(1024 * 1024), new String(warmUp.getInputStream().readAllBytes()));
                }
                Thread.sleep(2000);  // let start-up work (class loading, JIT) finish before measuring
                try (Socket client = new Socket("127.0.0.1", port)) {
                    OutputStream out = client.getOutputStream();
                    byte[] chunk = new byte[1024 * 1024];
                    // Measured while the bytes flow: from the 64th MiB (the connection is handed off
                    // by then) to the backend's answer, so without the connection's set-up.
                    long cpuBefore = 0;
                    long start = 0;
                    for (long sent = 0; sent < SIZE; sent += chunk.length) {
                        if (sent == 64L * chunk.length) {
                            cpuBefore = ferry.cpuMillis();
                            start = System.nanoTime();
                        }
                        out.write(chunk);
                    }
                    client.shutdownOutput();
                    String answer = new String(client.getInputStream().readAllBytes());
                    long wallMillis = (System.nanoTime() - start) / 1_000_000;
                    long cpuMillis = ferry.cpuMillis() - cpuBefore;
                    System.out.printf("2 GiB through the sockmap, from the 64th MiB on: wall %d ms, ferry CPU %d ms (%.2f%%)%n",
                            wallMillis, cpuMillis, 100.0 * cpuMillis / wallMillis);
                    assertEquals(Long.toString(SIZE), answer);
                    assertTrue(cpuMillis < wallMillis * 0.05,
                            "ferry used " + cpuMillis + " ms of CPU during " + wallMillis + " ms");
                }
            }
        }
    }
}
