package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.testing.Await;
import dev.ferry.testing.FerryProcess;
import dev.ferry.testing.RandomStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ferry run} reloading its file on SIGHUP and on change, while streams flow through it: established
 * connections keep streaming intact across the reload, new connections take the new routes, none is refused,
 * and a broken file is refused while the running configuration stays.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ReloadProcessTest {
    private static final int STREAMS = 16;
    private static final int CHUNK = 128 * 1024;
    private static final int CHUNKS = 40;
    private static final long STREAM_BYTES = (long) CHUNK * CHUNKS;

    @TempDir
    Path workDir;

    /** Answers the client's first byte with its tag, then echoes everything until EOF. */
    static final class TaggedEcho implements AutoCloseable {
        final ServerSocket server;

        TaggedEcho(char tag) throws IOException {
            server = new ServerSocket(0, 512, InetAddress.getLoopbackAddress());
            Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket socket = server.accept();
                        Thread.ofVirtual().start(() -> serve(socket, tag));
                    } catch (IOException closed) {
                        return;
                    }
                }
            });
        }

        private static void serve(Socket socket, char tag) {
            try (socket) {
                InputStream in = socket.getInputStream();
                OutputStream out = socket.getOutputStream();
                if (in.read() < 0) {
                    return;
                }
                out.write(tag);
                out.flush();
                byte[] buffer = new byte[64 * 1024];
                int n;
                while ((n = in.read(buffer)) > 0) {
                    out.write(buffer, 0, n);
                }
                socket.shutdownOutput();
            } catch (IOException ended) {
                // the client went away
            }
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    static String config(int listenPort, String cluster, int a, int b) {
        return """
                listeners:
                  - name: edge
                    address: 127.0.0.1:%d
                    routes:
                      - cluster: %s
                clusters:
                  - { name: a, endpoints: [ "127.0.0.1:%d" ] }
                  - { name: b, endpoints: [ "127.0.0.1:%d" ] }
                """.formatted(listenPort, cluster, a, b);
    }

    /** The tag of the backend a new connection reaches, or '!' when it fails. */
    static char probe(int port) {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(5000);
            socket.getOutputStream().write('S');
            int tag = socket.getInputStream().read();
            return tag < 0 ? '!' : (char) tag;
        } catch (IOException e) {
            return '!';
        }
    }

    /** One long stream: paced writes, everything echoed back, hashed on both sides. */
    static CompletableFuture<String> stream(int port, long seed, List<Character> tags) throws IOException {
        Socket socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(60_000);
        socket.getOutputStream().write('S');
        int tag = socket.getInputStream().read();
        tags.add((char) tag);
        CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
            try {
                RandomStream random = new RandomStream(seed, STREAM_BYTES);
                byte[] chunk = new byte[CHUNK];
                for (int i = 0; i < CHUNKS; i++) {
                    int n = random.next(chunk);
                    socket.getOutputStream().write(chunk, 0, n);
                    Thread.sleep(50);
                }
                socket.shutdownOutput();
            } catch (IOException | InterruptedException e) {
                throw new RuntimeException(e);
            }
        }, r -> Thread.ofVirtual().start(r));
        CompletableFuture<String> received = CompletableFuture.supplyAsync(() -> {
            try (socket) {
                MessageDigest digest = MessageDigest.getInstance("SHA-256");
                byte[] buffer = new byte[64 * 1024];
                long total = 0;
                int n;
                while ((n = socket.getInputStream().read(buffer)) >= 0) {
                    digest.update(buffer, 0, n);
                    total += n;
                }
                return total + ":" + HexFormat.of().formatHex(digest.digest());
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }, r -> Thread.ofVirtual().start(r));
        return sent.thenCombine(received, (ignored, result) -> result);
    }

    static void hup(FerryProcess ferry) throws Exception {
        Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(ferry.pid())).inheritIO().start();
        assertEquals(0, kill.waitFor());
    }

    @Test
    void reloadUnderLoadKeepsEstablishedStreamsAndSwitchesNewConnections() throws Exception {
        try (TaggedEcho a = new TaggedEcho('A'); TaggedEcho b = new TaggedEcho('B')) {
            int port = FerryProcess.freePort();
            Path file = workDir.resolve("ferry.yaml");
            Files.writeString(file, config(port, "a", a.port(), b.port()));
            try (FerryProcess ferry = FerryProcess.start(workDir, "run", "-c", file.toString())) {
                ferry.awaitListening(port, 60);
                assertEquals('A', probe(port));

                // Established streams, paced so that they last well past the reload.
                List<Character> streamTags = java.util.Collections.synchronizedList(new ArrayList<>());
                List<CompletableFuture<String>> streams = new ArrayList<>();
                for (int i = 0; i < STREAMS; i++) {
                    streams.add(stream(port, 1000 + i, streamTags));
                }
                // New connections all the while: none may fail.
                AtomicBoolean probing = new AtomicBoolean(true);
                ConcurrentHashMap<Character, AtomicInteger> probes = new ConcurrentHashMap<>();
                Thread prober = Thread.ofVirtual().start(() -> {
                    while (probing.get()) {
                        probes.computeIfAbsent(probe(port), k -> new AtomicInteger()).incrementAndGet();
                    }
                });
                Thread.sleep(300);

                Files.writeString(file, config(port, "b", a.port(), b.port()));
                hup(ferry);
                long reloadedAt = System.nanoTime();
                Await.until(() -> probe(port) == 'B', Duration.ofSeconds(20), "new connections reach cluster b");
                long switchMillis = (System.nanoTime() - reloadedAt) / 1_000_000;
                Thread.sleep(300);
                probing.set(false);
                prober.join();

                for (int i = 0; i < STREAMS; i++) {
                    String got = streams.get(i).get(90, TimeUnit.SECONDS);
                    assertEquals(STREAM_BYTES + ":" + RandomStream.sha256(1000 + i, STREAM_BYTES), got,
                            "stream " + i + " crossed the reload intact");
                }
                assertEquals(List.of(), streamTags.stream().filter(t -> t != 'A').toList());
                System.out.printf("reload: %d streams of %d KiB intact; new connections during it: %s; "
                        + "switched within %d ms of SIGHUP%n", STREAMS, STREAM_BYTES / 1024, probes, switchMillis);
                assertEquals(null, probes.get('!'), "a new connection failed during the reload: " + probes);
                assertTrue(probes.containsKey('A') && probes.containsKey('B'), probes.toString());
                assertTrue(ferry.output().contains("reload (SIGHUP)"), ferry.output());

                // A broken file is refused, with file, line and field, and the running routes stay.
                Files.writeString(file, config(port, "b", a.port(), b.port()).replace("cluster: b", "cluster: nope"));
                hup(ferry);
                Await.until(() -> output(ferry).contains(file + ":5:"), Duration.ofSeconds(20), "the refusal is logged");
                assertTrue(output(ferry).contains("refused, the running configuration stays"), output(ferry));
                assertTrue(output(ferry).contains(file + ":5:"), output(ferry));
                assertTrue(output(ferry).contains("listeners[0].routes[0].cluster: unknown cluster 'nope'"), output(ferry));
                for (int i = 0; i < 5; i++) {
                    assertEquals('B', probe(port));
                }

                // A fixed file is picked up without a signal.
                Files.writeString(file, config(port, "a", a.port(), b.port()));
                Await.until(() -> probe(port) == 'A', Duration.ofSeconds(20), "the changed file routes to a again");
                assertTrue(output(ferry).contains("reload (file changed"), output(ferry));
            }
        }
    }

    static String output(FerryProcess ferry) {
        try {
            return ferry.output();
        } catch (IOException e) {
            return "";
        }
    }
}
