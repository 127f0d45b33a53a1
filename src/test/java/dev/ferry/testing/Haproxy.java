package dev.ferry.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A real HAProxy (Debian's haproxy package) run in the foreground with a generated configuration. */
public final class Haproxy implements AutoCloseable {
    private final Process process;
    private final Path log;

    private Haproxy(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /**
     * Writes {@code config} to {@code dir}, checks it with {@code haproxy -c}, starts HAProxy and waits until each
     * of {@code ports} accepts connections on 127.0.0.1.
     */
    public static Haproxy start(Path dir, String config, List<Integer> ports) throws Exception {
        Path file = dir.resolve("haproxy.cfg");
        Files.writeString(file, config);
        String check = Processes.run(List.of("haproxy", "-c", "-f", file.toString()), "", 30);
        if (!check.contains("Configuration file is valid")) {
            throw new AssertionError("haproxy refused its configuration:\n" + check + "\n" + config);
        }
        Path log = dir.resolve("haproxy.out");
        Process process = new ProcessBuilder("haproxy", "-db", "-f", file.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Haproxy haproxy = new Haproxy(process, log);
        try {
            for (int port : ports) {
                haproxy.awaitListening(port, Duration.ofSeconds(20));
            }
        } catch (Exception | Error e) {
            haproxy.close();
            throw e;
        }
        return haproxy;
    }

    private void awaitListening(int port, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (!process.isAlive()) {
                throw new AssertionError("haproxy exited: " + output());
            }
            try (Socket probe = new Socket(InetAddress.getLoopbackAddress(), port)) {
                return;
            } catch (IOException notYet) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("haproxy is not listening on " + port + ": " + output());
                }
                Thread.sleep(50);
            }
        }
    }

    /** A port that was free a moment ago, for HAProxy to bind. */
    public static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    public String output() throws IOException {
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
