package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ferry.testing.FerryProcess;
import dev.ferry.testing.HashPeer;
import dev.ferry.testing.Processes;
import dev.ferry.testing.RandomStream;
import dev.ferry.testing.TestBackend;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ferry run as an unprivileged user (nobody, no capabilities), where eBPF is not allowed: with
 * {@code dataplane: auto} it picks splice and says why, and the end-to-end cases of the plane suite
 * pass against it; a listener that insists on sockmap makes it refuse to start, naming the listener.
 *
 * <p>The test JVM's classpath lives under /root, which nobody cannot read: it is copied to a
 * directory that nobody can.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class UnprivilegedFerryTest {
    private static final List<String> AS_NOBODY =
            List.of("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all");
    private static final long SIZE = 64L * 1024 * 1024;
    private static final long HALF_CLOSE_SIZE = 50_000_000;

    private static final String PROBE = "probe";

    private static Path readable;
    private static String classpath;

    @TempDir
    Path workDir;

    @BeforeAll
    static void copyTheClasspathWhereNobodyCanReadIt() throws IOException {
        assumeTrue(ProcessHandle.current().info().user().map("root"::equals).orElse(false), "needs root to drop to nobody");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs setpriv (util-linux)");
        readable = Files.createTempDirectory(Path.of("/tmp"), "ferry-nobody-");
        List<String> entries = new ArrayList<>();
        int index = 0;
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path source = Path.of(entry);
            if (!Files.exists(source)) {
                continue;
            }
            Path target = readable.resolve(index++ + "-" + source.getFileName());
            copyTree(source, target);
            entries.add(target.toString());
        }
        classpath = String.join(java.io.File.pathSeparator, entries);
        makeReadable(readable);
    }

    @AfterAll
    static void removeTheCopy() throws IOException {
        if (readable != null) {
            try (Stream<Path> paths = Files.walk(readable)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
        }
    }

    @Test
    void asNobodyAutoPicksSpliceSaysWhyAndEveryEndToEndCasePasses() throws Exception {
        CountDownLatch resetConnected = new CountDownLatch(1);
        try (TestBackend backend = new TestBackend(socket -> serve(socket, resetConnected))) {
            int port = FerryProcess.freePort();
            Path config = writeConfig("""
                    listeners:
                      - name: edge
                        address: 127.0.0.1:%d
                        routes:
                          - cluster: backend
                    clusters:
                      - { name: backend, endpoints: ["%s"] }
                    """.formatted(port, backend.endpoint()));
            try (FerryProcess ferry = FerryProcess.start(workDir, AS_NOBODY, classpath, readable,
                    "run", "--config", config.toString())) {
                ferry.awaitListening(port, 60);
                assertEquals("65534", uid(ferry.pid()), "ferry runs as nobody");
                String log = ferry.output();
                assertTrue(log.contains("data plane: splice (auto: sockmap unavailable: "), log);
                assertTrue(log.contains("EPERM") || log.contains("CAP_BPF"), "the reason names the missing privilege:\n" + log);

                integrityBothWays(port);
                clientHalfClosesAndReadsTheReply(port);
                backendHalfClosesAndReadsTheReply(port, backend);
                aClientResetResetsTheBackend(port, backend, resetConnected);
                aBackendResetResetsTheClient(port);

                Thread.sleep(200);
                String access = ferry.output();
                assertTrue(access.contains("plane=splice end=closed"), access);
                assertTrue(!access.contains("plane=sockmap") && !access.contains("plane=copy"), access);
            }
        }
    }

    @Test
    void asNobodyAListenerThatInsistsOnSockmapRefusesToStartAndSaysWhy() throws Exception {
        int port = FerryProcess.freePort();
        Path config = writeConfig("""
                listeners:
                  - name: fast
                    address: 127.0.0.1:%d
                    dataplane: sockmap
                    routes:
                      - cluster: backend
                clusters:
                  - { name: backend, endpoints: ["127.0.0.1:9"] }
                """.formatted(port));
        try (FerryProcess ferry = FerryProcess.start(workDir, AS_NOBODY, classpath, readable,
                "run", "--config", config.toString())) {
            int exit = ferry.awaitExit(60);
            String output = ferry.output();
            assertNotEquals(0, exit, output);
            assertTrue(output.contains("listener fast: dataplane sockmap is not available here: "), output);
        }
    }

    @Test
    void asNobodyFerryCheckSaysAutoWouldChooseSplice() throws Exception {
        List<String> command = new ArrayList<>(AS_NOBODY);
        command.addAll(FerryProcess.javaCommand(classpath));
        command.add("check");
        String output = Processes.run(command, "", 60);
        assertTrue(output.contains("dataplane auto would choose: splice (auto: sockmap unavailable: "), output);
        assertTrue(output.matches("(?s).*\\nok +splice .*"), output);
    }

    // The backend: the first byte of each connection says which case it is.

    private static Object serve(Socket socket, CountDownLatch resetConnected) throws Exception {
        InputStream in = socket.getInputStream();
        int mode = in.read();
        switch (mode) {
            case -1 -> {
                return PROBE;  // awaitListening's connection, closed without a byte
            }
            case 'I' -> {
                socket.getOutputStream().write('S');
                return HashPeer.run(socket, 2, SIZE).get();
            }
            case 'H' -> {
                HashPeer.Received received = HashPeer.receive(in);
                DataOutputStream out = new DataOutputStream(socket.getOutputStream());
                out.writeLong(received.bytes());
                out.writeUTF(received.sha256());
                out.flush();
                return received;
            }
            case 'B' -> {
                HashPeer.send(socket, 22, HALF_CLOSE_SIZE);
                socket.shutdownOutput();
                DataInputStream replies = new DataInputStream(in);
                return new HashPeer.Received(replies.readLong(), replies.readUTF());
            }
            case 'R' -> {
                resetConnected.countDown();
                return assertThrows(SocketException.class, () -> HashPeer.receive(in));
            }
            case 'X' -> {
                in.readNBytes(1000);
                socket.setSoLinger(true, 0);
                return null;
            }
            default -> throw new IOException("unknown case " + mode);
        }
    }

    private static void integrityBothWays(int port) throws Exception {
        try (Socket client = connect(port)) {
            client.getOutputStream().write('I');
            assertEquals('S', client.getInputStream().read());
            HashPeer.Received atClient = HashPeer.run(client, 1, SIZE).get(2, TimeUnit.MINUTES);
            assertEquals(new HashPeer.Received(SIZE, RandomStream.sha256(2, SIZE)), atClient, "backend to client");
        }
    }

    private static void clientHalfClosesAndReadsTheReply(int port) throws Exception {
        try (Socket client = connect(port)) {
            client.getOutputStream().write('H');
            HashPeer.send(client, 21, HALF_CLOSE_SIZE);
            client.shutdownOutput();
            DataInputStream in = new DataInputStream(client.getInputStream());
            assertEquals(HALF_CLOSE_SIZE, in.readLong());
            assertEquals(RandomStream.sha256(21, HALF_CLOSE_SIZE), in.readUTF());
            assertEquals(-1, in.read(), "the backend's close reaches the client");
        }
    }

    private static void backendHalfClosesAndReadsTheReply(int port, TestBackend backend) throws Exception {
        // The integrity case's result first: the backend finished it when its streams did.
        assertEquals(new HashPeer.Received(SIZE, RandomStream.sha256(1, SIZE)), next(backend), "client to backend");
        assertEquals(new HashPeer.Received(HALF_CLOSE_SIZE, RandomStream.sha256(21, HALF_CLOSE_SIZE)),
                next(backend), "the half-closed stream");
        try (Socket client = connect(port)) {
            client.getOutputStream().write('B');
            HashPeer.Received received = HashPeer.receive(client.getInputStream());
            DataOutputStream out = new DataOutputStream(client.getOutputStream());
            out.writeLong(received.bytes());
            out.writeUTF(received.sha256());
            out.flush();
            client.shutdownOutput();
            assertEquals(new HashPeer.Received(HALF_CLOSE_SIZE, RandomStream.sha256(22, HALF_CLOSE_SIZE)),
                    next(backend));
        }
    }

    private static void aClientResetResetsTheBackend(int port, TestBackend backend, CountDownLatch connected)
            throws Exception {
        Socket client = connect(port);
        client.getOutputStream().write('R');
        client.getOutputStream().write(new byte[1000]);
        assertTrue(connected.await(10, TimeUnit.SECONDS));
        Thread.sleep(100);
        client.setSoLinger(true, 0);
        client.close();
        SocketException reset = next(backend);
        assertTrue(reset.getMessage().contains("reset"), reset.getMessage());
    }

    private static void aBackendResetResetsTheClient(int port) throws Exception {
        try (Socket client = connect(port)) {
            client.getOutputStream().write('X');
            client.getOutputStream().write(new byte[1000]);
            IOException reset = assertThrows(SocketException.class, () -> HashPeer.receive(client.getInputStream()));
            assertTrue(reset.getMessage().contains("reset"), reset.getMessage());
        }
    }

    /** The next session's result, past the probes of awaitListening. */
    private static <T> T next(TestBackend backend) throws Exception {
        Object result;
        do {
            result = backend.nextResult(60);
        } while (PROBE.equals(result));
        @SuppressWarnings("unchecked")
        T typed = (T) result;
        return typed;
    }

    private static Socket connect(int port) throws IOException {
        Socket socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(120_000);
        return socket;
    }

    private Path writeConfig(String yaml) throws IOException {
        Path config = Files.createTempFile(readable, "ferry-", ".yaml");
        Files.writeString(config, yaml);
        makeReadable(config);
        return config;
    }

    private static String uid(long pid) throws IOException {
        return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream()
                .filter(line -> line.startsWith("Uid:"))
                .map(line -> line.split("\\s+")[1])
                .findFirst().orElseThrow();
    }

    private static void copyTree(Path source, Path target) throws IOException {
        try (Stream<Path> paths = Files.walk(source)) {
            for (Path path : (Iterable<Path>) paths::iterator) {
                Path copy = target.resolve(source.relativize(path).toString());
                if (Files.isDirectory(path)) {
                    Files.createDirectories(copy);
                } else {
                    Files.copy(path, copy);
                }
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /** World-readable files, world-searchable directories. */
    private static void makeReadable(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : (Iterable<Path>) paths::iterator) {
                Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(
                        Files.isDirectory(path) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
    }
}
