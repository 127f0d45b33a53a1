package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.ferry.testing.FerryProcess;
import dev.ferry.testing.TestBackend;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * While 2 GiB flow through one connection, Ferry's own CPU time, every thread of its process, stays
 * under 5% of the wall time: the kernel path alone, with flow control off (with it on, a fast
 * stream whose peer's buffer fills is held and crosses user space: docs/flow-control.md).
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class JvmOutOfTheDataPathTest {
    private static final long SIZE = 2L * 1024 * 1024 * 1024;
    private static final int ATTEMPTS = 3;

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
                    flow: { max_in_flight: 0 }
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
                // A cost per byte (bytes crossing the JVM) shows in every transfer; a one-off one (a
                // compilation, a collection, a busy neighbour on the host) does not. So a transfer
                // over budget is repeated, up to three times, and every measurement is reported.
                List<String> measured = new ArrayList<>();
                for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
                    Measurement m = transfer(ferry, port);
                    assertEquals("sockmap", m.plane(), "the transfer was not handed to the kernel; ferry's log:\n"
                            + ferry.output());
                    measured.add(m.toString());
                    System.out.println("2 GiB through the sockmap, attempt " + attempt + ": " + m);
                    if (m.cpuMillis() < m.wallMillis() * 0.05) {
                        return;
                    }
                }
                fail("ferry used 5% or more of the wall time as CPU in each of " + ATTEMPTS + " transfers:\n  "
                        + String.join("\n  ", measured));
            }
        }
    }

    /** Ferry's CPU during one transfer of {@link #SIZE} bytes, from the 64th MiB to the backend's answer. */
    private record Measurement(String plane, long wallMillis, long cpuMillis, String spentBy) {
        @Override
        public String toString() {
            return "wall %d ms, ferry CPU %d ms (%.2f%%): %s".formatted(wallMillis, cpuMillis,
                    100.0 * cpuMillis / wallMillis, spentBy);
        }
    }

    private static Measurement transfer(FerryProcess ferry, int port) throws Exception {
        try (Socket client = new Socket("127.0.0.1", port)) {
            OutputStream out = client.getOutputStream();
            byte[] chunk = new byte[1024 * 1024];
            // Measured while the bytes flow: from the 64th MiB (the connection is handed off by
            // then) to the backend's answer, so without the connection's set-up.
            long cpuBefore = 0;
            Map<String, Long> threadsBefore = Map.of();
            long start = 0;
            for (long sent = 0; sent < SIZE; sent += chunk.length) {
                if (sent == 64L * chunk.length) {
                    cpuBefore = ferry.cpuMillis();
                    threadsBefore = ferry.cpuMillisByThread();
                    start = System.nanoTime();
                }
                out.write(chunk);
            }
            client.shutdownOutput();
            String answer = new String(client.getInputStream().readAllBytes());
            long wallMillis = (System.nanoTime() - start) / 1_000_000;
            long cpuMillis = ferry.cpuMillis() - cpuBefore;
            String spentBy = FerryProcess.cpuSpentBetween(threadsBefore, ferry.cpuMillisByThread());
            assertEquals(Long.toString(SIZE), answer);
            return new Measurement(planeOf(ferry, client.getLocalPort()), wallMillis, cpuMillis, spentBy);
        }
    }

    /** The data plane the access log names for the connection from {@code clientPort}. */
    private static String planeOf(FerryProcess ferry, int clientPort) throws Exception {
        Pattern line = Pattern.compile("client=/127\\.0\\.0\\.1:" + clientPort + " .* plane=(\\w+)");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            Matcher found = line.matcher(ferry.output());
            if (found.find()) {
                return found.group(1);
            }
            Thread.sleep(50);
        }
        return "none (no access log line within 10 s)";
    }
}
