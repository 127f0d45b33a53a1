package dev.ferry.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.config.ConfigLoader;
import dev.ferry.connect.Cluster;
import dev.ferry.connect.Endpoint;
import dev.ferry.testing.Await;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.Processes;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Clusters through a running Ferry: PROXY protocol to the backend, connection limits, health checks and
 * ejection, IPv6, reuse_port, and reloads applied in process.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class ClusterEndToEndTest {

    /** Answers every line with its name and the line; can listen on a fixed port again after closing. */
    static final class NamedEcho implements AutoCloseable {
        final String name;
        final ServerSocket server;
        final List<Socket> open = new CopyOnWriteArrayList<>();

        NamedEcho(String name, InetSocketAddress bind) throws IOException {
            this.name = name;
            server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(bind, 256);
            Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket socket = server.accept();
                        open.add(socket);
                        Thread.ofVirtual().start(() -> serve(socket));
                    } catch (IOException closed) {
                        return;
                    }
                }
            });
        }

        NamedEcho(String name) throws IOException {
            this(name, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        }

        private void serve(Socket socket) {
            try (socket) {
                InputStream in = socket.getInputStream();
                StringBuilder line = new StringBuilder();
                int c;
                while ((c = in.read()) >= 0) {
                    if (c == '\n') {
                        socket.getOutputStream().write((name + ":" + line + "\n").getBytes(StandardCharsets.UTF_8));
                        socket.getOutputStream().flush();
                        line.setLength(0);
                    } else {
                        line.append((char) c);
                    }
                }
            } catch (IOException ended) {
                // closed by the test
            } finally {
                open.remove(socket);
            }
        }

        int port() {
            return server.getLocalPort();
        }

        String endpoint() {
            return "127.0.0.1:" + port();
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket socket : open) {
                socket.close();
            }
        }
    }

    /** A client connection through Ferry that says lines and reads the answers. */
    static final class Client implements AutoCloseable {
        final Socket socket;

        Client(InetSocketAddress ferry, String localIp) throws IOException {
            socket = new Socket();
            if (localIp != null) {
                socket.bind(new InetSocketAddress(localIp, 0));
            }
            socket.connect(ferry, 5000);
            socket.setSoTimeout(10_000);
        }

        Client(InetSocketAddress ferry) throws IOException {
            this(ferry, null);
        }

        /** The answer to {@code line}, or null when Ferry closed the connection instead. */
        String say(String line) throws IOException {
            try {
                socket.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
                socket.getOutputStream().flush();
                StringBuilder answer = new StringBuilder();
                int c;
                while ((c = socket.getInputStream().read()) >= 0 && c != '\n') {
                    answer.append((char) c);
                }
                return c < 0 ? null : answer.toString();
            } catch (java.net.SocketException reset) {
                return null;
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    static String oneShot(InetSocketAddress ferry, String line) throws IOException {
        try (Client client = new Client(ferry)) {
            return client.say(line);
        }
    }

    static String catchAll(String listenerAddress, String clusterBody) {
        return """
                listeners:
                  - name: edge
                    address: "%s"
                    first_packet: { timeout: 300ms }
                    routes:
                      - cluster: c
                clusters:
                  - name: c
                """.formatted(listenerAddress) + clusterBody.indent(4);
    }

    // ---- PROXY protocol ----------------------------------------------------------------------------

    record Proxied(HAProxyMessage header, String payload) {
    }

    /** Reads the PROXY header byte by byte with Netty's decoder, then the client's line. */
    static Proxied readProxied(Socket socket) throws IOException {
        EmbeddedChannel decoder = new EmbeddedChannel(new HAProxyMessageDecoder());
        InputStream in = socket.getInputStream();
        HAProxyMessage header = null;
        while (header == null) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("EOF inside the PROXY header");
            }
            decoder.writeInbound(Unpooled.wrappedBuffer(new byte[] {(byte) b}));
            Object message = decoder.readInbound();
            if (message instanceof HAProxyMessage parsed) {
                header = parsed;
            }
        }
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            line.append((char) c);
        }
        socket.getOutputStream().write("OK\n".getBytes(StandardCharsets.UTF_8));
        socket.getOutputStream().flush();
        return new Proxied(header, line.toString());
    }

    void checkProxyProtocol(String version, String listener, InetAddress backendAddress) throws Exception {
        CompletableFuture<Proxied> seen = new CompletableFuture<>();
        try (ServerSocket backend = new ServerSocket(0, 16, backendAddress)) {
            Thread.ofVirtual().start(() -> {
                try (Socket socket = backend.accept()) {
                    seen.complete(readProxied(socket));
                } catch (Exception e) {
                    seen.completeExceptionally(e);
                }
            });
            String endpoint = backendAddress.getHostAddress().contains(":")
                    ? "[" + backendAddress.getHostAddress() + "]:" + backend.getLocalPort()
                    : backendAddress.getHostAddress() + ":" + backend.getLocalPort();
            try (FerryHarness ferry = FerryHarness.start(catchAll(listener, """
                    endpoints: [ "%s" ]
                    proxy_protocol: %s
                    """.formatted(endpoint, version)));
                 Client client = new Client(ferry.address())) {
                assertEquals("OK", client.say("HELLO"));
                Proxied proxied = seen.get(10, TimeUnit.SECONDS);
                HAProxyMessage header = proxied.header();
                boolean v6 = ferry.address().getAddress() instanceof java.net.Inet6Address;
                assertEquals(version.equals("v1") ? HAProxyProtocolVersion.V1 : HAProxyProtocolVersion.V2,
                        header.protocolVersion());
                assertEquals(v6 ? HAProxyProxiedProtocol.TCP6 : HAProxyProxiedProtocol.TCP4, header.proxiedProtocol());
                assertEquals(InetAddress.getByName(header.sourceAddress()), client.socket.getLocalAddress());
                assertEquals(client.socket.getLocalPort(), header.sourcePort());
                assertEquals(InetAddress.getByName(header.destinationAddress()), ferry.address().getAddress());
                assertEquals(ferry.port(), header.destinationPort());
                assertEquals("HELLO", proxied.payload(), "the client's first bytes follow the header");
                header.release();
            }
        }
    }

    @Test
    void proxyProtocolV1TellsTheBackendTheRealClient() throws Exception {
        checkProxyProtocol("v1", "127.0.0.1:0", InetAddress.getLoopbackAddress());
    }

    @Test
    void proxyProtocolV2TellsTheBackendTheRealClient() throws Exception {
        checkProxyProtocol("v2", "127.0.0.1:0", InetAddress.getLoopbackAddress());
    }

    @Test
    void proxyProtocolOverIpv6() throws Exception {
        checkProxyProtocol("v2", "[::1]:0", InetAddress.getByName("::1"));
        checkProxyProtocol("v1", "[::1]:0", InetAddress.getByName("::1"));
    }

    // ---- limits --------------------------------------------------------------------------------------

    @Test
    void maxConnectionsPerClusterAndPerSourceRefuseAndCountTheExcess() throws Exception {
        try (NamedEcho backend = new NamedEcho("b");
             FerryHarness ferry = FerryHarness.start(catchAll("127.0.0.1:0", """
                     endpoints: [ "%s" ]
                     max_connections: 3
                     max_connections_per_source: 2
                     """.formatted(backend.endpoint())))) {
            Cluster cluster = ferry.ferry().clusters().get("c");
            List<Client> open = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) {
                    Client client = new Client(ferry.address(), "127.0.0.1");
                    assertEquals("b:hi", client.say("hi"));
                    open.add(client);
                }
                try (Client third = new Client(ferry.address(), "127.0.0.1")) {
                    assertEquals(null, third.say("hi"), "a third connection from one source is refused");
                }
                Client other = new Client(ferry.address(), "127.0.0.2");
                assertEquals("b:hi", other.say("hi"));
                open.add(other);
                try (Client fourth = new Client(ferry.address(), "127.0.0.3")) {
                    assertEquals(null, fourth.say("hi"), "a fourth connection to the cluster is refused");
                }
                assertEquals(1, ferry.stat("ferry_connections_refused_total{listener=\"edge\",reason=\"source_max_connections\"}"));
                assertEquals(1, ferry.stat("ferry_connections_refused_total{listener=\"edge\",reason=\"cluster_max_connections\"}"));
                assertEquals(3, cluster.activeConnections());

                open.removeFirst().close();
                Await.until(() -> cluster.activeConnections() == 2, "the closed connection is released");
                Client again = new Client(ferry.address(), "127.0.0.1");
                assertEquals("b:again", again.say("again"));
                open.add(again);
            } finally {
                for (Client client : open) {
                    client.close();
                }
            }
            Await.until(() -> cluster.activeConnections() == 0, "every connection is released");
            Await.until(() -> cluster.endpoints().getFirst().activeConnections() == 0, "the endpoint count is released");
            assertEquals(0, cluster.activeConnections(InetAddress.getByName("127.0.0.1")));
        }
    }

    // ---- health ----------------------------------------------------------------------------------------

    @Test
    void aDeadEndpointIsTakenOutByHealthChecksAndComesBack() throws Exception {
        NamedEcho b = new NamedEcho("b");
        int bPort = b.port();
        try (NamedEcho a = new NamedEcho("a");
             FerryHarness ferry = FerryHarness.start(catchAll("127.0.0.1:0", """
                     endpoints: [ "%s", "%s" ]
                     health_check: { interval: 100ms, timeout: 500ms, rise: 2, fall: 2 }
                     """.formatted(a.endpoint(), b.endpoint())))) {
            Cluster cluster = ferry.ferry().clusters().get("c");
            Endpoint bEndpoint = cluster.endpoints().get(1);
            List<String> answers = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                answers.add(oneShot(ferry.address(), "x"));
            }
            assertEquals(List.of("a:x", "b:x", "a:x", "b:x"), answers);

            b.close();
            Await.until(() -> !bEndpoint.checkedUp(), "b is down");
            String failuresOnB = "ferry_endpoint_connect_failures_total{cluster=\"c\",endpoint=\"127.0.0.1:" + bPort + "\"}";
            long failuresBefore = ferry.stat(failuresOnB);
            for (int i = 0; i < 10; i++) {
                assertEquals("a:y", oneShot(ferry.address(), "y"));
            }
            assertEquals(failuresBefore, ferry.stat(failuresOnB), "a down endpoint is not even tried");

            try (NamedEcho back = new NamedEcho("b", new InetSocketAddress(InetAddress.getLoopbackAddress(), bPort))) {
                Await.until(bEndpoint::checkedUp, "b is up again");
                List<String> after = new ArrayList<>();
                for (int i = 0; i < 6; i++) {
                    after.add(oneShot(ferry.address(), "z"));
                }
                assertTrue(after.contains("b:z") && after.contains("a:z"), after.toString());
            }
        } finally {
            b.close();
        }
    }

    @Test
    void whenEveryEndpointIsDownTheConnectionIsRefusedWithNoHealthyEndpoint() throws Exception {
        int deadPort;
        try (ServerSocket probe = new ServerSocket(0)) {
            deadPort = probe.getLocalPort();
        }
        try (FerryHarness ferry = FerryHarness.start(catchAll("127.0.0.1:0", """
                endpoints: [ "127.0.0.1:%d" ]
                health_check: { interval: 100ms, timeout: 200ms, rise: 1, fall: 1 }
                """.formatted(deadPort)))) {
            Cluster cluster = ferry.ferry().clusters().get("c");
            Await.until(() -> !cluster.endpoints().getFirst().checkedUp(), "the endpoint is down");
            assertEquals(null, oneShot(ferry.address(), "x"));
            assertEquals(1, ferry.stat("ferry_connections_refused_total{listener=\"edge\",reason=\"no_healthy_endpoint\"}"));
        }
    }

    @Test
    void consecutiveConnectFailuresEjectAnEndpointAndRetriesHideThem() throws Exception {
        int deadPort;
        try (ServerSocket probe = new ServerSocket(0)) {
            deadPort = probe.getLocalPort();
        }
        try (NamedEcho a = new NamedEcho("a");
             FerryHarness ferry = FerryHarness.start(catchAll("127.0.0.1:0", """
                     endpoints: [ "127.0.0.1:%d", "%s" ]
                     outlier_detection: { consecutive_failures: 2, ejection_time: 1s }
                     """.formatted(deadPort, a.endpoint())))) {
            String failures = "ferry_endpoint_connect_failures_total{cluster=\"c\",endpoint=\"127.0.0.1:" + deadPort + "\"}";
            String ejections = "ferry_endpoint_ejections_total{cluster=\"c\",endpoint=\"127.0.0.1:" + deadPort + "\"}";
            for (int i = 0; i < 20; i++) {
                // every connection gets through: a refused connect moves on to the next endpoint
                assertEquals("a:x", oneShot(ferry.address(), "x"));
            }
            assertEquals(2, ferry.stat(failures), "ejected after two failures, then not tried");
            assertEquals(1, ferry.stat(ejections));
            Thread.sleep(1100);
            for (int i = 0; i < 4; i++) {
                assertEquals("a:x", oneShot(ferry.address(), "x"));
            }
            assertEquals(3, ferry.stat(failures), "tried once after the ejection time");
            assertEquals(2, ferry.stat(ejections), "and ejected again at once");
        }
    }

    // ---- IPv6, reuse_port ------------------------------------------------------------------------------

    @Test
    void ipv6ListenerAndIpv6Endpoint() throws Exception {
        try (NamedEcho v6 = new NamedEcho("v6", new InetSocketAddress(InetAddress.getByName("::1"), 0));
             FerryHarness ferry = FerryHarness.start("""
                     listeners:
                       - { name: edge, address: "[::1]:0", routes: [ { cluster: v6 } ] }
                       - { name: v4, address: "127.0.0.1:0", routes: [ { cluster: v6 } ] }
                     clusters:
                       - { name: v6, endpoints: [ "[::1]:%d" ] }
                     """.formatted(v6.port()))) {
            assertEquals("0:0:0:0:0:0:0:1", ferry.address().getAddress().getHostAddress());
            assertEquals("v6:over six", oneShot(ferry.address(), "over six"));
            assertEquals("v6:four to six", oneShot(ferry.ferry().listenerAddress("v4"), "four to six"));
        }
    }

    @Test
    void reusePortBindsOneSocketPerAcceptorOnOnePort() throws Exception {
        try (NamedEcho backend = new NamedEcho("b");
             FerryHarness ferry = FerryHarness.start("""
                     listeners:
                       - { name: edge, address: "127.0.0.1:0", reuse_port: true, routes: [ { cluster: c } ] }
                     clusters:
                       - { name: c, endpoints: [ "%s" ] }
                     """.formatted(backend.endpoint()))) {
            int expected = Math.min(Runtime.getRuntime().availableProcessors(),
                    2 * Runtime.getRuntime().availableProcessors());
            assertEquals(expected, ferry.ferry().routing().listener("edge").orElseThrow().acceptors());
            String sockets = Processes.run(List.of("ss", "-Hltn", "sport = :" + ferry.port()), "", 10);
            assertEquals(expected, sockets.lines().filter(l -> !l.isBlank()).count(), sockets);
            for (int i = 0; i < 50; i++) {
                assertEquals("b:" + i, oneShot(ferry.address(), String.valueOf(i)));
            }

            // Turning reuse_port off rebinds the same address with one socket.
            int port = ferry.port();
            String single = """
                    listeners:
                      - { name: edge, address: "127.0.0.1:%d", routes: [ { cluster: c } ] }
                    clusters:
                      - { name: c, endpoints: [ "%s" ] }
                    """.formatted(port, backend.endpoint());
            ferry.ferry().reload(ConfigLoader.parse(single, "single.yaml"));
            assertEquals(1, ferry.ferry().routing().listener("edge").orElseThrow().acceptors());
            assertEquals(port, ferry.port());
            assertEquals("b:after", oneShot(ferry.address(), "after"));
        }
    }

    // ---- reload in process -----------------------------------------------------------------------------

    @Test
    void reloadSwitchesRoutesAndListenersForNewConnectionsOnly() throws Exception {
        try (NamedEcho a = new NamedEcho("a"); NamedEcho b = new NamedEcho("b");
             ServerSocket squatter = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             FerryHarness ferry = FerryHarness.start("""
                     listeners:
                       - { name: edge, address: "127.0.0.1:0", routes: [ { cluster: a } ] }
                     clusters:
                       - { name: a, endpoints: [ "%s" ] }
                     """.formatted(a.endpoint()))) {
            Client established = new Client(ferry.address());
            assertEquals("a:before", established.say("before"));
            Cluster clusterA = ferry.ferry().clusters().get("a");

            int secondPort;
            try (ServerSocket probe = new ServerSocket(0)) {
                secondPort = probe.getLocalPort();
            }
            ferry.ferry().reload(ConfigLoader.parse("""
                    listeners:
                      - { name: edge, address: "127.0.0.1:0", routes: [ { cluster: b } ] }
                      - { name: second, address: "127.0.0.1:%d", routes: [ { cluster: a } ] }
                    clusters:
                      - { name: a, endpoints: [ "%s" ] }
                      - { name: b, endpoints: [ "%s" ] }
                    """.formatted(secondPort, a.endpoint(), b.endpoint()), "second.yaml"));
            assertEquals("b:new", oneShot(ferry.address(), "new"), "new connections take the new route");
            assertEquals("a:still", established.say("still"), "the established connection is untouched");
            assertEquals("a:second", oneShot(new InetSocketAddress("127.0.0.1", secondPort), "second"));
            assertTrue(clusterA == ferry.ferry().clusters().get("a"), "an unchanged cluster is kept as it is");

            // A reload that cannot bind changes nothing.
            Exception refused = assertThrows(Exception.class, () -> ferry.ferry().reload(ConfigLoader.parse("""
                    listeners:
                      - { name: edge, address: "127.0.0.1:0", routes: [ { cluster: a } ] }
                      - { name: third, address: "127.0.0.1:%d", routes: [ { cluster: a } ] }
                    clusters:
                      - { name: a, endpoints: [ "%s" ] }
                    """.formatted(squatter.getLocalPort(), a.endpoint()), "taken.yaml")));
            assertTrue(refused.toString().contains("in use"), refused.toString());
            assertEquals("b:unchanged", oneShot(ferry.address(), "unchanged"));
            assertEquals("a:second", oneShot(new InetSocketAddress("127.0.0.1", secondPort), "second"));

            // Removing a listener stops it accepting; its established connections stay.
            Client onSecond = new Client(new InetSocketAddress("127.0.0.1", secondPort));
            assertEquals("a:s", onSecond.say("s"));
            ferry.ferry().reload(ConfigLoader.parse("""
                    listeners:
                      - { name: edge, address: "127.0.0.1:0", routes: [ { cluster: a } ] }
                    clusters:
                      - { name: a, endpoints: [ "%s" ] }
                    """.formatted(a.endpoint()), "third.yaml"));
            assertThrows(IOException.class, () -> new Client(new InetSocketAddress("127.0.0.1", secondPort)));
            assertEquals("a:s2", onSecond.say("s2"));
            assertEquals("a:back", oneShot(ferry.address(), "back"));
            assertEquals("a:still", established.say("still"));
            established.close();
            onSecond.close();
        }
    }
}
