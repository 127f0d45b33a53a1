package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.HashPeer;
import dev.ferry.testing.RandomStream;
import dev.ferry.testing.TestBackend;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A sockmap sized for fewer pairs than there are connections: the pairs that do not fit are served
 * by the splice plane instead of failing, every one counted, and every stream is intact.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class SockmapFallbackTest {
    private static final int PAIRS = 10;
    private static final int CONNECTIONS = 50;
    private static final long SIZE = 4L * 1024 * 1024;

    @Test
    void fiftyConcurrentConnectionsThroughASockmapOfTenPairsAreIntactFortyByTheFallback() throws Exception {
        String upstream = RandomStream.sha256(61, SIZE);
        String downstream = RandomStream.sha256(62, SIZE);
        try (TestBackend backend = new TestBackend(socket -> {
                 HashPeer.syncAsBackend(socket);
                 return HashPeer.run(socket, 62, SIZE).get();
             });
             FerryHarness ferry = FerryHarness.start("sockmap",
                     "sockmap: { max_connections: " + PAIRS + " }\n" + FerryHarness.catchAllYaml(backend.endpoint()))) {
            List<Socket> clients = new ArrayList<>();
            try {
                // All fifty are handed off (the sync byte crossed the data plane) before any stream starts,
                // so all fifty are open at once.
                for (int i = 0; i < CONNECTIONS; i++) {
                    Socket client = ferry.connect();
                    clients.add(client);
                    HashPeer.syncAsClient(client);
                }
                var stats = ferry.ferry().stats();
                assertEquals(CONNECTIONS - PAIRS, stats.sum("ferry_sockmap_fallback_total", ""),
                        "pairs the full map refused: " + stats.render());
                assertEquals(CONNECTIONS - PAIRS, stats.sum("ferry_sockmap_fallback_total", "E2BIG"),
                        "refused because the map was full (E2BIG)");
                assertEquals(PAIRS * 2, ferry.ferry().kernel().orElseThrow().occupancy().conns(), "sockets in the map");

                List<CompletableFuture<HashPeer.Received>> runs = new ArrayList<>();
                for (Socket client : clients) {
                    runs.add(HashPeer.run(client, 61, SIZE));
                }
                for (CompletableFuture<HashPeer.Received> run : runs) {
                    assertEquals(new HashPeer.Received(SIZE, downstream), run.get(2, TimeUnit.MINUTES), "backend to client");
                }
            } finally {
                for (Socket client : clients) {
                    client.close();
                }
            }
            for (int i = 0; i < CONNECTIONS; i++) {
                assertEquals(new HashPeer.Received(SIZE, upstream), backend.nextResult(60), "client to backend");
            }
            ferry.awaitEnded("plane=\"sockmap\",end=\"closed\"", PAIRS);
            ferry.awaitEnded("plane=\"splice\",end=\"closed\"", CONNECTIONS - PAIRS);
            assertEquals(CONNECTIONS - PAIRS, ferry.ferry().stats().sum("ferry_sockmap_fallback_total", ""),
                    "each refused pair counted once");
            ferry.assertMapsEmpty(Duration.ofSeconds(10));
        }
    }
}
