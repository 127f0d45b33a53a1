package dev.ferry.testing;

import dev.ferry.Ferry;
import dev.ferry.config.ConfigLoader;
import dev.ferry.dataplane.sockmap.SockmapKernel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** Ferry started in the test's own JVM from a YAML text; listener "edge" is the one tests use. */
public final class FerryHarness implements AutoCloseable {
    private final Ferry ferry;

    private FerryHarness(Ferry ferry) {
        this.ferry = ferry;
    }

    public static FerryHarness start(String yaml) throws Exception {
        return new FerryHarness(Ferry.start(ConfigLoader.parse(yaml, "test.yaml")));
    }

    /** Like {@link #start(String)}, with {@code dataplane: plane} at the top level. */
    public static FerryHarness start(String plane, String yaml) throws Exception {
        return start("dataplane: " + plane + "\n" + yaml);
    }

    /** A single listener on an ephemeral port, every connection to one cluster. */
    public static FerryHarness catchAll(String... endpoints) throws Exception {
        return start(catchAllYaml(endpoints));
    }

    /** {@link #catchAll(String...)} on the given data plane: sockmap, splice or copy. */
    public static FerryHarness catchAllOn(String plane, String... endpoints) throws Exception {
        return start(plane, catchAllYaml(endpoints));
    }

    /**
     * The YAML of {@link #catchAll(String...)}: one listener {@code edge} on an ephemeral port, every
     * connection to cluster {@code backend}. Top-level settings can be put in front of it.
     */
    public static String catchAllYaml(String... endpoints) {
        return """
                listeners:
                  - name: edge
                    address: 127.0.0.1:0
                    routes:
                      - cluster: backend
                clusters:
                  - name: backend
                    endpoints: [%s]
                """.formatted(quoted(endpoints));
    }

    public static String quoted(String... endpoints) {
        return String.join(", ", java.util.Arrays.stream(endpoints).map(e -> "\"" + e + "\"").toList());
    }

    public Ferry ferry() {
        return ferry;
    }

    public InetSocketAddress address() {
        return ferry.listenerAddress("edge");
    }

    public int port() {
        return address().getPort();
    }

    public Socket connect() throws IOException {
        Socket socket = new Socket(address().getAddress(), address().getPort());
        socket.setSoTimeout((int) Duration.ofSeconds(120).toMillis());
        return socket;
    }

    public long stat(String name) {
        return ferry.stats().get(name);
    }

    /** Waits until the kernel maps hold no entry, failing after {@code timeout}. */
    public SockmapKernel.MapOccupancy awaitEmptyMaps(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        SockmapKernel kernel = ferry.kernel().orElse(null);
        if (kernel == null) {
            return new SockmapKernel.MapOccupancy(0, 0, 0, 0);  // no sockmap plane, no maps
        }
        SockmapKernel.MapOccupancy occupancy = kernel.occupancy();
        while (!occupancy.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
            occupancy = kernel.occupancy();
        }
        return occupancy;
    }

    /** When the sockmap plane is loaded: its maps empty within {@code timeout}. Other planes have no maps. */
    public void assertMapsEmpty(Duration timeout) throws InterruptedException {
        if (ferry.kernel().isPresent()) {
            SockmapKernel.MapOccupancy occupancy = awaitEmptyMaps(timeout);
            if (!occupancy.isEmpty()) {
                throw new AssertionError("map entries left: " + occupancy);
            }
        }
    }

    /**
     * Waits up to 10 s for {@code expected} connections ended with these labels, and fails if more
     * did: the client may see the end of the stream a moment before Ferry records it.
     */
    public void awaitEnded(String labels, long expected) throws InterruptedException {
        Await.until(() -> ferry.stats().sum("ferry_connections_ended_total", labels) >= expected,
                Duration.ofSeconds(10), () -> expected + " connections ended with " + labels);
        long ended = ferry.stats().sum("ferry_connections_ended_total", labels);
        if (ended != expected) {
            throw new AssertionError(ended + " connections ended with " + labels + ", expected " + expected);
        }
    }

    /** Payload Ferry holds in user space (copy) or in pipes (splice) right now, over all connections. */
    public long bufferedBytes(String plane) {
        return stat("ferry_dataplane_buffered_bytes{plane=\"" + plane + "\"}");
    }

    public static int openDescriptors() throws IOException {
        try (var entries = Files.list(Path.of("/proc/self/fd"))) {
            return (int) entries.count();
        }
    }

    /**
     * Waits until {@link #openDescriptors} is {@code expected} for three samples in a row, or
     * {@code timeout}: a late connect racing a client's reset can close one descriptor and open
     * another, and a single sample may land in between. The caller asserts the count after.
     */
    public static void awaitDescriptors(int expected, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int steady = 0;
        while (steady < 3 && System.nanoTime() < deadline) {
            steady = openDescriptors() == expected ? steady + 1 : 0;
            Thread.sleep(50);
        }
    }

    @Override
    public void close() {
        ferry.close();
    }
}
