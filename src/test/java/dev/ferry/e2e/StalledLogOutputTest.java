package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ferry.testing.FerryProcess;
import dev.ferry.testing.TestBackend;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ferry's stderr goes to a pipe nobody reads, as when the reader of a service's log falls behind: once the
 * pipe is full, a write to it blocks. Connections must still be forwarded, and the access lines written once
 * the pipe is read again.
 */
class StalledLogOutputTest {
    /** About 170 bytes per access line: several times the pipe's 64 KiB. */
    private static final int CONNECTIONS = 1_500;

    @TempDir
    Path workDir;

    @Test
    @Timeout(180)
    void connectionsAreForwardedWhileNobodyReadsTheLogAndEveryLineComesOnceItIsRead() throws Exception {
        try (TestBackend backend = new TestBackend(StalledLogOutputTest::answerOneByte)) {
            int port = FerryProcess.freePort();
            int adminPort = FerryProcess.freePort();
            Path config = workDir.resolve("ferry.yaml");
            Files.writeString(config, """
                    admin: { address: 127.0.0.1:%d }
                    listeners:
                      - name: edge
                        address: 127.0.0.1:%d
                        routes:
                          - cluster: backend
                    clusters:
                      - { name: backend, endpoints: ["%s"] }
                    """.formatted(adminPort, port, backend.endpoint()));
            List<String> command = new ArrayList<>(FerryProcess.javaCommand(System.getProperty("java.class.path")));
            command.addAll(List.of("run", "--config", config.toString()));
            Process ferry = new ProcessBuilder(command).redirectErrorStream(true).start();
            try {
                // Its output is left unread: a probe forwards no byte, so its access line says to_backend=0.
                FerryProcess.awaitListening(ferry, port, 60, () -> "(unread: the test reads it only later)");
                for (int i = 0; i < CONNECTIONS; i++) {
                    try {
                        assertEquals('y', roundTrip(port), "connection " + i + " through Ferry");
                    } catch (IOException e) {
                        throw new AssertionError("connection " + i + " through Ferry, with nobody reading its log: "
                                + e, e);
                    }
                }
                List<String> accessLines = new CopyOnWriteArrayList<>();
                List<String> otherLines = new CopyOnWriteArrayList<>();
                CompletableFuture<Void> reader =
                        CompletableFuture.runAsync(() -> collectAccessLines(ferry, accessLines, otherLines));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (accessLines.size() < CONNECTIONS && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertEquals(CONNECTIONS, accessLines.size(), () -> "access lines written once the pipe was read;"
                        + " Ferry's other output: " + otherLines + "\nFerry's stats:\n" + stats(adminPort));
                ferry.destroy();
                reader.get(30, TimeUnit.SECONDS);
                assertEquals(CONNECTIONS, accessLines.size(), "one line per connection");
            } finally {
                ferry.destroyForcibly();
                ferry.waitFor(15, TimeUnit.SECONDS);
            }
        }
    }

    private static String stats(int adminPort) {
        try (HttpClient http = HttpClient.newHttpClient()) {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/stats"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException | InterruptedException e) {
            return "(not read: " + e + ")";
        }
    }

    private static Object answerOneByte(Socket socket) throws IOException {
        int first = socket.getInputStream().read();
        if (first >= 0) {
            socket.getOutputStream().write('y');
        }
        return first;
    }

    /** Sends one byte through Ferry and reads the backend's answer, bounded in time. */
    private static int roundTrip(int port) throws IOException {
        try (Socket client = new Socket()) {
            client.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            client.setSoTimeout(5_000);
            client.getOutputStream().write('x');
            return client.getInputStream().read();
        }
    }

    /** Sorts Ferry's output: the access lines of this test's connections, and every other line but probes'. */
    private static void collectAccessLines(Process ferry, List<String> accessLines, List<String> otherLines) {
        try (BufferedReader output = new BufferedReader(
                new InputStreamReader(ferry.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = output.readLine(); line != null; line = output.readLine()) {
                if (line.contains("INFO ferry.access - ") && line.contains(" to_backend=1 to_client=1 ")) {
                    accessLines.add(line);
                } else if (!line.contains(" to_backend=0 to_client=0 ")) {
                    otherLines.add(line);
                }
            }
        } catch (IOException e) {
            // the process was destroyed: the count so far stands
        }
    }
}
