package dev.ferry.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.stats.Stats;
import dev.ferry.testing.Await;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Active health checks against real servers that go away and come back. */
@Timeout(value = 1, unit = TimeUnit.MINUTES)
class HealthCheckTest {
    static EventLoopGroup group;
    static ScheduledExecutorService background;

    @BeforeAll
    static void start() {
        group = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
        background = Executors.newSingleThreadScheduledExecutor();
    }

    @AfterAll
    static void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        background.shutdownNow();
    }

    /** A server that accepts and answers each connection with {@code reply} after reading a line, if any. */
    static final class Server implements AutoCloseable {
        final ServerSocket socket;

        Server(int port, String reply) throws IOException {
            socket = new ServerSocket();
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            Thread.ofVirtual().start(() -> {
                while (!socket.isClosed()) {
                    try {
                        Socket connection = socket.accept();
                        Thread.ofVirtual().start(() -> answer(connection, reply));
                    } catch (IOException closed) {
                        return;
                    }
                }
            });
        }

        private static void answer(Socket connection, String reply) {
            try (connection) {
                if (reply == null) {
                    // silent: reads whatever comes until the checker closes
                    while (connection.getInputStream().read() >= 0) {
                        // nothing to answer
                    }
                    return;
                }
                InputStream in = connection.getInputStream();
                int c;
                while ((c = in.read()) >= 0 && c != '\n') {
                    // the request line
                }
                connection.getOutputStream().write(reply.getBytes(StandardCharsets.UTF_8));
                connection.getOutputStream().flush();
            } catch (IOException ignored) {
                // the checker closed first
            }
        }

        int port() {
            return socket.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @Test
    void anEndpointGoesDownAfterFallFailuresAndComesBackAfterRisePasses() throws Exception {
        Stats stats = new Stats();
        Server dying = new Server(0, null);
        int port = dying.port();
        try (Server steady = new Server(0, null)) {
            Cluster c = new Cluster(ClusterTest.cluster("""
                    endpoints: [ "127.0.0.1:%d", "127.0.0.1:%d" ]
                    health_check: { interval: 100ms, timeout: 300ms, rise: 2, fall: 2 }
                    """.formatted(port, steady.port())), Optional.empty(), Resolver.SYSTEM, stats);
            c.start(group, background);
            Endpoint endpoint = c.endpoints().getFirst();
            try {
                Await.until(() -> stats.get("ferry_health_checks_total{cluster=\"c\",result=\"pass\"}") >= 4, "checks pass");
                assertTrue(endpoint.available(System.nanoTime()));

                dying.close();
                long closedAt = System.nanoTime();
                Await.until(() -> !endpoint.checkedUp(), "the endpoint is down");
                long detectMillis = (System.nanoTime() - closedAt) / 1_000_000;
                System.out.println("down detected after " + detectMillis + " ms (interval 100ms, fall 2)");
                assertEquals(1, stats.get("ferry_endpoint_transitions_total{cluster=\"c\",endpoint=\"127.0.0.1:"
                        + port + "\",to=\"down\"}"));
                for (int i = 0; i < 20; i++) {
                    assertEquals(1, c.attemptOrder(ConnectionKeys.ofSource(new InetSocketAddress("10.0.0.1", 1))).size(),
                            "only the healthy endpoint is tried");
                }
                assertTrue(c.gauges().contains("endpoint=\"127.0.0.1:" + port + "\"} 0"), c.gauges());

                try (Server back = new Server(port, null)) {
                    Await.until(endpoint::checkedUp, "the endpoint is up again");
                    assertEquals(1, stats.get("ferry_endpoint_transitions_total{cluster=\"c\",endpoint=\"127.0.0.1:"
                            + port + "\",to=\"up\"}"));
                    assertEquals(2, c.attemptOrder(ConnectionKeys.ofSource(new InetSocketAddress("10.0.0.1", 1))).size());
                }
            } finally {
                c.close();
            }
        }
    }

    @Test
    void sendAndExpectCheckTheReply() throws Exception {
        Stats stats = new Stats();
        try (Server healthy = new Server(0, "+PONG\r\n"); Server wrong = new Server(0, "-ERR not ready\r\n");
             Server silent = new Server(0, null)) {
            Cluster c = new Cluster(ClusterTest.cluster("""
                    endpoints: [ "127.0.0.1:%d", "127.0.0.1:%d", "127.0.0.1:%d" ]
                    health_check: { interval: 100ms, timeout: 1s, rise: 1, fall: 1, send: "PING\\r\\n", expect: "+PONG" }
                    """.formatted(healthy.port(), wrong.port(), silent.port())), Optional.empty(), Resolver.SYSTEM,
                    stats);
            c.start(group, background);
            try {
                Await.until(() -> !c.endpoints().get(1).checkedUp() && !c.endpoints().get(2).checkedUp(),
                        "the wrong and the silent endpoint are down");
                Thread.sleep(300);
                assertTrue(c.endpoints().getFirst().checkedUp());
                assertEquals(0, stats.get("ferry_endpoint_transitions_total{cluster=\"c\",endpoint=\"127.0.0.1:"
                        + healthy.port() + "\",to=\"down\"}"), c.endpoints().getFirst().unavailableReason(0));
                String why = c.endpoints().get(2).unavailableReason(System.nanoTime());
                assertTrue(why.contains("timed out"), why);
                why = c.endpoints().get(1).unavailableReason(System.nanoTime());
                assertTrue(why.contains("closed before the expected reply"), why);
            } finally {
                c.close();
            }
        }
    }

    @Test
    void whenEveryEndpointIsDownConnectionsAreRefusedWithAClearReason() throws Exception {
        Stats stats = new Stats();
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        Cluster c = new Cluster(ClusterTest.cluster("""
                endpoints: [ "127.0.0.1:%d" ]
                health_check: { interval: 100ms, timeout: 200ms, rise: 1, fall: 1 }
                """.formatted(port)), Optional.empty(), Resolver.SYSTEM, stats);
        c.start(group, background);
        try {
            Await.until(() -> !c.endpoints().getFirst().checkedUp(), "the only endpoint is down");
            var refused = org.junit.jupiter.api.Assertions.assertThrows(BackendConnector.NoBackendException.class,
                    () -> c.attemptOrder(ConnectionKeys.ofSource(new InetSocketAddress("10.0.0.1", 1))));
            assertEquals("no_healthy_endpoint", refused.reason());
            assertTrue(refused.getMessage().startsWith("cluster c has no healthy endpoint: 127.0.0.1:" + port
                    + " down (health check: "), refused.getMessage());
        } finally {
            c.close();
        }
    }
}
