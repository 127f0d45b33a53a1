package dev.ferry.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigLoaderTest {

    @Test
    void validSampleReadsIntoTheExpectedRecords() throws Exception {
        FerryConfig config = ConfigLoader.load(resource("valid.yaml"));

        FerryConfig expected = new FerryConfig(
                new SockmapConfig(131072),
                Optional.of(address("127.0.0.1", 9901)),
                List.of(
                        new ListenerConfig("edge", address("127.0.0.1", 8443),
                                new FirstPacketConfig(8192, Duration.ofSeconds(3)),
                                Duration.ofMinutes(30),
                                List.of(
                                        RouteConfig.forward(Optional.of(new SniMatch("*.eu.example.com")), "eu"),
                                        RouteConfig.forward(Optional.of(new HostMatch("api.example.com")), "api"),
                                        RouteConfig.reject(Optional.of(new PrefixMatch("PING"))),
                                        RouteConfig.forward(Optional.empty(), "fallback"))),
                        new ListenerConfig("edge-v6", address("::1", 8080),
                                FirstPacketConfig.DEFAULTS,
                                ListenerConfig.DEFAULT_IDLE_TIMEOUT,
                                List.of(
                                        RouteConfig.forward(Optional.of(new HostMatch("[::1]")), "api"),
                                        RouteConfig.forward(Optional.of(new SniMatch("exact.example.com")), "eu"),
                                        RouteConfig.reject(Optional.empty())))),
                List.of(
                        new ClusterConfig("eu", List.of(address("127.0.0.1", 9001), address("127.0.0.1", 9002)),
                                Duration.ofMillis(250)),
                        new ClusterConfig("api", List.of(address("::1", 9100)), ClusterConfig.DEFAULT_CONNECT_TIMEOUT),
                        new ClusterConfig("fallback", List.of(address("127.0.0.1", 9200)), Duration.ofMinutes(1))),
                FlowConfig.DEFAULTS);
        assertEquals(expected, config);
        assertEquals(Optional.of(expected.clusters().get(1)), config.cluster("api"));
        assertEquals(Optional.empty(), config.cluster("nope"));
    }

    @Test
    void leftOutSettingsTakeTheirDocumentedDefaults() throws Exception {
        FerryConfig config = ConfigLoader.parse("""
                listeners:
                  - name: only
                    address: 127.0.0.1:0
                    routes:
                      - action: reject
                """, "minimal.yaml");

        assertEquals(new SockmapConfig(65536), config.sockmap());
        assertEquals(Optional.empty(), config.admin());
        assertEquals(List.of(), config.clusters());
        ListenerConfig listener = config.listeners().getFirst();
        assertEquals(new FirstPacketConfig(16384, Duration.ofSeconds(5)), listener.firstPacket());
        assertEquals(Duration.ofHours(1), listener.idleTimeout());
        assertEquals(0, listener.address().getPort());
        assertEquals(SocketBuffersConfig.AUTOTUNED, config.socketBuffers());
        assertEquals(new FlowConfig(4 * 1024 * 1024), config.flow(), "flow control is on, at 4 MiB");
    }

    @Test
    void flowControlTakesASizeAndZeroTurnsItOff() throws Exception {
        String listeners = """
                listeners:
                  - name: only
                    address: 127.0.0.1:0
                    routes:
                      - action: reject
                """;
        assertEquals(new FlowConfig(1024 * 1024),
                ConfigLoader.parse("flow: { max_in_flight: 1MiB }\n" + listeners, "flow.yaml").flow());
        assertEquals(new FlowConfig(0), ConfigLoader.parse("flow: { max_in_flight: 0 }\n" + listeners, "off.yaml").flow());
    }

    @Test
    void socketBuffersTakeSizesAndLeaveTheRestToTheKernel() throws Exception {
        FerryConfig config = ConfigLoader.parse("""
                socket_buffers: { client_receive: 128KiB, backend_send: 1048576 }
                listeners:
                  - name: only
                    address: 127.0.0.1:0
                    routes:
                      - action: reject
                """, "buffers.yaml");

        assertEquals(new SocketBuffersConfig(128 * 1024, 0, 0, 1024 * 1024), config.socketBuffers());
    }

    @Test
    void clustersDefaultToATwoSecondConnectTimeout() throws Exception {
        FerryConfig config = ConfigLoader.parse("""
                listeners: [ { name: a, address: "127.0.0.1:1", routes: [ { cluster: c } ] } ]
                clusters: [ { name: c, endpoints: [ "127.0.0.1:2" ] } ]
                """, "t.yaml");

        assertEquals(Duration.ofSeconds(2), config.clusters().getFirst().connectTimeout());
    }

    @Test
    void recordsCannotBeChangedThroughTheListsTheyWereBuiltFrom() throws Exception {
        FerryConfig config = ConfigLoader.load(resource("valid.yaml"));

        assertThrows(UnsupportedOperationException.class, () -> config.listeners().clear());
        assertThrows(UnsupportedOperationException.class, () -> config.listeners().getFirst().routes().clear());
        assertThrows(UnsupportedOperationException.class, () -> config.clusters().getFirst().endpoints().clear());
    }

    @Test
    void unreadableFileIsAConfigExceptionToo() {
        ConfigException error = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Path.of("/nonexistent/ferry.yaml")));

        assertTrue(error.getMessage().startsWith("/nonexistent/ferry.yaml:1:1: (file): cannot read the file:"),
                error.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            unknown-key.yaml         | 4:5: listeners[0].idle_timeuot: unknown key 'idle_timeuot' (allowed: name, address, first_packet, idle_timeout, routes, reuse_port
            bad-sni.yaml             | 10:16: listeners[0].routes[2].match.sni: invalid server name pattern 'foo.*.example.com'
            unknown-cluster.yaml     | 6:18: listeners[0].routes[0].cluster: unknown cluster 'us' (defined: eu, api)
            unreachable-route.yaml   | 6:9: listeners[0].routes[1]: unreachable: the route before it has no match
            bad-duration.yaml        | 6:16: listeners[0].first_packet.timeout: missing unit in '5'
            duplicate-cluster.yaml   | 9:11: clusters[1].name: duplicate cluster name 'eu' (first at line 7)
            reject-with-cluster.yaml | 7:18: listeners[0].routes[0].cluster: a route with action: reject must not name a cluster
            syntax-error.yaml        | 4:11: (yaml syntax):
            """)
    void invalidFilesNameTheLineAndTheField(String file, String expected) throws Exception {
        Path path = resource("invalid/" + file);

        ConfigException error = assertThrows(ConfigException.class, () -> ConfigLoader.load(path));

        assertTrue(error.getMessage().startsWith(path + ":" + expected), error.getMessage());
    }

    static Path resource(String name) throws URISyntaxException {
        return Path.of(ConfigLoaderTest.class.getResource("/config/" + name).toURI());
    }

    private static InetSocketAddress address(String ip, int port) {
        return new InetSocketAddress(InetAddress.ofLiteral(ip), port);
    }
}
