package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ferry.dataplane.sockmap.SockmapKernel;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.HashPeer;
import dev.ferry.testing.TestBackend;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** After every kind of ending, the maps are empty and the process holds no extra descriptor. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class NothingLeaksTest {
    private static final SockmapKernel.MapOccupancy EMPTY = new SockmapKernel.MapOccupancy(0, 0, 0);

    @Test
    void mapsAndDescriptorsReturnToTheirStartAfterCleanEndsResetsAndRefusals() throws Exception {
        try (TestBackend backend = new TestBackend(socket -> {
                 HashPeer.Received received = HashPeer.receive(socket.getInputStream());
                 if (received.bytes() % 2 == 1) {
                     socket.setSoLinger(true, 0);
                 }
                 return received;
             });
             FerryHarness ferry = FerryHarness.start("""
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
            int descriptorsBefore = FerryHarness.openDescriptors();
            for (int i = 0; i < 60; i++) {
                try (Socket client = ferry.connect()) {
                    switch (i % 3) {
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
            assertEquals(EMPTY, ferry.awaitEmptyMaps(Duration.ofSeconds(10)), "map entries left");
            awaitDescriptors(descriptorsBefore, Duration.ofSeconds(10));
            assertEquals(descriptorsBefore, FerryHarness.openDescriptors(), "descriptors before and after");
        }
    }

    private static void warmUp(FerryHarness ferry) throws Exception {
        try (Socket client = ferry.connect()) {
            client.getOutputStream().write(new byte[10]);
            client.shutdownOutput();
            client.getInputStream().read();
        }
        ferry.awaitEmptyMaps(Duration.ofSeconds(10));
        Thread.sleep(200);
    }

    private static void awaitDescriptors(int expected, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (FerryHarness.openDescriptors() != expected && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
    }
}
