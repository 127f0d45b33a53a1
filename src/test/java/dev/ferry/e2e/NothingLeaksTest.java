package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.HashPeer;
import dev.ferry.testing.TestBackend;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * After every kind of ending, on every data plane, the process holds no extra descriptor (sockets
 * and, for splice, pipes beyond the spares it keeps), the sockmap's maps are empty and no payload stays
 * buffered; once Ferry stops, not even the spare pipes are left.
 */
@ParameterizedClass(name = "{0} plane")
@ValueSource(strings = {"sockmap", "splice", "copy"})
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class NothingLeaksTest {
    /** The splice plane's pipes, by state: spare or in_use. */
    private static final String PIPES = "ferry_splice_pipes";

    @Parameter
    String plane;

    @Test
    void mapsAndDescriptorsReturnToTheirStartAfterCleanEndsResetsAndRefusals() throws Exception {
        try (TestBackend backend = new TestBackend(socket -> {
                 HashPeer.Received received = HashPeer.receive(socket.getInputStream());
                 if (received.bytes() % 2 == 1) {
                     socket.setSoLinger(true, 0);
                 }
                 return received;
             });
             FerryHarness ferry = FerryHarness.start(plane, """
                     listeners:
                       - name: edge
                         address: 127.0.0.1:0
                         routes:
                           - match: { prefix: "NO" }
                             action: reject
                           - cluster: backend
                     clusters:
                       - { name: backend, endpoints: ["%s"] }
                     """.formatted(backend.endpoint()))) {
            warmUp(ferry);
            var stats = ferry.ferry().stats();
            long pipesBefore = stats.sum(PIPES, "");
            int descriptorsBefore = FerryHarness.openDescriptors();
            for (int i = 0; i < 80; i++) {
                try (Socket client = ferry.connect()) {
                    switch (i % 4) {
                        case 3 -> {  // the client resets at once, racing the handoff
                            client.setSoLinger(true, 0);
                        }
                        case 0 -> {  // clean: data, half-close, the backend closes
                            client.getOutputStream().write(new byte[10_000]);
                            client.shutdownOutput();
                            client.getInputStream().read();
                        }
                        case 1 -> {  // the client resets mid-stream
                            client.getOutputStream().write(new byte[10_001]);
                            Thread.sleep(5);
                            client.setSoLinger(true, 0);
                        }
                        default -> {  // refused by a reject route
                            client.getOutputStream().write("NO thanks".getBytes(StandardCharsets.US_ASCII));
                            try {
                                client.getInputStream().read();
                            } catch (java.net.SocketException reset) {
                                // expected: reject resets
                            }
                        }
                    }
                }
            }
            ferry.assertMapsEmpty(Duration.ofSeconds(10));
            long forwarded = stats.sum("ferry_connections_forwarded_total", "");
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (stats.sum("ferry_connections_ended_total", "") != forwarded && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(forwarded, stats.sum("ferry_connections_ended_total", ""), "every forwarded connection ended");
            assertEquals(0, stats.get(PIPES + "{state=\"in_use\"}"), "pipes still held by a direction");
            // The spare pipes the splice plane keeps for the next busy direction are its own, two descriptors each.
            int descriptorsAfter = descriptorsBefore + 2 * Math.toIntExact(stats.sum(PIPES, "") - pipesBefore);
            FerryHarness.awaitDescriptors(descriptorsAfter, Duration.ofSeconds(10));
            assertEquals(descriptorsAfter, FerryHarness.openDescriptors(), "descriptors before and after, spare pipes aside");
            assertEquals(0, ferry.bufferedBytes(plane), "payload still buffered");
            assertEquals(0, stats.get("ferry_connections_active{listener=\"edge\"}"), "connections still active");
            if (!plane.equals("sockmap")) {  // the sockmap plane hands pairs it cannot take to splice
                assertEquals(forwarded, stats.sum("ferry_connections_ended_total", "plane=\"" + plane + "\""),
                        "connections ended on the " + plane + " plane");
            }
        }
    }

    /**
     * Stopping Ferry with connections still open closes their sockets, pipes and map entries too. Several
     * rounds, because a stop that races the event loops' own work is what once left a pair open.
     */
    @Test
    void stoppingFerryWithConnectionsOpenReleasesTheirDescriptors() throws Exception {
        try (TestBackend backend = new TestBackend(socket -> {
                 HashPeer.syncAsBackend(socket);
                 return HashPeer.receive(socket.getInputStream());
             })) {
            // A first Ferry started and stopped, so that what stays loaded after one (classes, jars) is in the baseline.
            try (FerryHarness warm = FerryHarness.catchAllOn(plane, backend.endpoint()); Socket client = warm.connect()) {
                HashPeer.syncAsClient(client);
            }
            Thread.sleep(200);
            int descriptorsBefore = FerryHarness.openDescriptors();
            for (int round = 1; round <= 4; round++) {
                List<Socket> clients = new ArrayList<>();
                try {
                    try (FerryHarness ferry = FerryHarness.catchAllOn(plane, backend.endpoint())) {
                        for (int i = 0; i < 5; i++) {
                            Socket client = ferry.connect();
                            clients.add(client);
                            HashPeer.syncAsClient(client);
                            client.getOutputStream().write(new byte[100_000]);
                        }
                    }
                    for (Socket client : clients) {
                        client.setSoTimeout(10_000);
                        try {
                            assertEquals(-1, client.getInputStream().read(), "the end reaches the client");
                        } catch (java.net.SocketTimeoutException stillOpen) {
                            throw new AssertionError("round " + round + ": Ferry stopped, a client's connection stayed"
                                    + " open", stillOpen);
                        } catch (java.net.SocketException reset) {
                            // a reset is an end too
                        }
                    }
                } finally {
                    for (Socket client : clients) {
                        client.close();
                    }
                }
                FerryHarness.awaitDescriptors(descriptorsBefore, Duration.ofSeconds(10));
                assertEquals(descriptorsBefore, FerryHarness.openDescriptors(),
                        "round " + round + ": descriptors before start and after stop");
            }
        }
    }

    private static void warmUp(FerryHarness ferry) throws Exception {
        try (Socket client = ferry.connect()) {
            client.getOutputStream().write(new byte[10]);
            client.shutdownOutput();
            client.getInputStream().read();
        }
        ferry.assertMapsEmpty(Duration.ofSeconds(10));
        Thread.sleep(200);
    }
}
