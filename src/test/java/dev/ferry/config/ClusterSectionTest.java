package dev.ferry.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The cluster keys (load balancing, health, limits, PROXY protocol, DNS) and listener binding options. */
class ClusterSectionTest {

    static final String LISTENER = """
            listeners: [ { name: l, address: "127.0.0.1:0", routes: [ { cluster: c } ] } ]
            """;

    static FerryConfig parse(String clusterBody) throws ConfigException {
        return ConfigLoader.parse(LISTENER + "clusters:\n  - name: c\n" + clusterBody.indent(4), "t.yaml");
    }

    @Test
    void everyKeyReadsIntoTheRecord() throws Exception {
        ClusterConfig c = parse("""
                endpoints:
                  - "10.0.0.1:9001"
                  - { address: "[::1]:9002", weight: 3 }
                  - { address: "Backend.Internal:9003" }
                connect_timeout: 500ms
                dns_refresh: 10s
                load_balancing: consistent_hash
                hash_on: sni
                health_check: { interval: 2s, timeout: 300ms, rise: 3, fall: 4, send: "PING\\r\\n", expect: "+PONG" }
                outlier_detection: { consecutive_failures: 7, ejection_time: 1m }
                proxy_protocol: v2
                max_connections: 1000
                max_connections_per_source: 10
                """).clusters().getFirst();

        assertEquals(List.of(
                new EndpointConfig(new InetSocketAddress("10.0.0.1", 9001), 1),
                new EndpointConfig(new InetSocketAddress("::1", 9002), 3),
                new EndpointConfig(InetSocketAddress.createUnresolved("backend.internal", 9003), 1)), c.endpoints());
        assertTrue(c.endpoints().get(2).isDnsName());
        assertEquals("[::1]:9002", c.endpoints().get(1).text());
        assertEquals(Duration.ofMillis(500), c.connectTimeout());
        assertEquals(Duration.ofSeconds(10), c.dnsRefresh());
        assertEquals(LoadBalancing.CONSISTENT_HASH, c.loadBalancing());
        assertEquals(Optional.of(HashOn.SNI), c.hashOn());
        assertEquals(Optional.of(new HealthCheckConfig(Duration.ofSeconds(2), Duration.ofMillis(300), 3, 4,
                Optional.of("PING\r\n"), Optional.of("+PONG"))), c.healthCheck());
        assertEquals(Optional.of(new OutlierDetectionConfig(7, Duration.ofMinutes(1))), c.outlierDetection());
        assertEquals(Optional.of(ProxyProtocol.V2), c.proxyProtocol());
        assertEquals(OptionalInt.of(1000), c.maxConnections());
        assertEquals(OptionalInt.of(10), c.maxConnectionsPerSource());
        assertTrue(c.usesDns());
    }

    @Test
    void leftOutKeysTakeTheirDefaults() throws Exception {
        ClusterConfig c = parse("""
                endpoints: [ "127.0.0.1:9001" ]
                health_check: {}
                outlier_detection: {}
                """).clusters().getFirst();

        assertEquals(LoadBalancing.ROUND_ROBIN, c.loadBalancing());
        assertEquals(Duration.ofSeconds(30), c.dnsRefresh());
        assertEquals(Optional.of(HealthCheckConfig.tcp(Duration.ofSeconds(5), Duration.ofSeconds(1), 2, 3)),
                c.healthCheck());
        assertEquals(Optional.of(new OutlierDetectionConfig(5, Duration.ofSeconds(30))), c.outlierDetection());
        assertEquals(Optional.empty(), c.proxyProtocol());
        assertEquals(OptionalInt.empty(), c.maxConnections());
        assertFalse(c.usesDns());
        // the short form equals the record built in code
        assertEquals(new ClusterConfig("c", List.of(new InetSocketAddress("127.0.0.1", 9001)),
                ClusterConfig.DEFAULT_CONNECT_TIMEOUT), parse("endpoints: [ \"127.0.0.1:9001\" ]").clusters().getFirst());
    }

    @Test
    void listenersTakeReusePortAndIpv6() throws Exception {
        FerryConfig config = ConfigLoader.parse("""
                listeners:
                  - { name: a, address: "[::1]:0", reuse_port: true, routes: [ { cluster: c } ] }
                  - { name: b, address: "127.0.0.1:0", routes: [ { cluster: c } ] }
                clusters: [ { name: c, endpoints: [ "[::1]:9001" ] } ]
                """, "t.yaml");
        assertTrue(config.listeners().getFirst().reusePort());
        assertFalse(config.listeners().get(1).reusePort());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            unknown algorithm  |                                 | load_balancing: fastest                 | 5:21: clusters[0].load_balancing: unknown value 'fastest' (allowed: round_robin, least_connections, random_two_choices, consistent_hash)
            hash without key   |                                 | load_balancing: consistent_hash         | 5:21: clusters[0].load_balancing: consistent_hash needs hash_on: sni, host or source
            key without hash   |                                 | hash_on: sni                            | 5:14: clusters[0].hash_on: hash_on applies only to load_balancing: consistent_hash
            unknown hash key   | load_balancing: consistent_hash | hash_on: cookie                         | 5:14: clusters[0].hash_on: unknown value 'cookie' (allowed: sni, host, source)
            zero weight        |                                 | endpoints: [ { address: "10.0.0.1:1", weight: 0 } ] | 5:51: clusters[0].endpoints[0].weight: must be positive, got 0
            heavy weight       |                                 | endpoints: [ { address: "10.0.0.1:1", weight: 1001 } ] | 5:51: clusters[0].endpoints[0].weight: must be at most 1000, got 1001
            bad ip             |                                 | endpoints: [ "10.0.0.300:80" ]          | 5:18: clusters[0].endpoints[0]: invalid address '10.0.0.300:80': bad IPv4 octet '300'
            bad name           |                                 | endpoints: [ "back end:80" ]            | 5:18: clusters[0].endpoints[0]: invalid address 'back end:80'
            name without port  |                                 | endpoints: [ "backend.internal" ]       | 5:18: clusters[0].endpoints[0]: invalid address 'backend.internal': missing port
            duplicate name     |                                 | endpoints: [ "b.internal:80", "B.internal:80" ] | 5:35: clusters[0].endpoints[1]: duplicate endpoint B.internal:80
            endpoint key typo  |                                 | endpoints: [ { adress: "10.0.0.1:1" } ] | 5:20: clusters[0].endpoints[0].adress: unknown key 'adress' (allowed: address, weight)
            health key typo    |                                 | health_check: { intervall: 1s }         | 5:21: clusters[0].health_check.intervall: unknown key 'intervall' (allowed: interval, timeout, rise, fall, send, expect)
            zero fall          |                                 | health_check: { fall: 0 }               | 5:27: clusters[0].health_check.fall: must be positive, got 0
            bare interval      |                                 | health_check: { interval: 5 }           | 5:31: clusters[0].health_check.interval: missing unit in '5'
            empty send         |                                 | health_check: { send: "" }              | 5:27: clusters[0].health_check.send: must not be empty
            outlier typo       |                                 | outlier_detection: { failures: 3 }      | 5:26: clusters[0].outlier_detection.failures: unknown key 'failures' (allowed: consecutive_failures, ejection_time)
            proxy v3           |                                 | proxy_protocol: v3                      | 5:21: clusters[0].proxy_protocol: unknown value 'v3' (allowed: v1, v2)
            zero max           |                                 | max_connections: 0                      | 5:22: clusters[0].max_connections: must be positive, got 0
            per source above   | max_connections: 5              | max_connections_per_source: 6           | 5:33: clusters[0].max_connections_per_source: max_connections_per_source (6) exceeds max_connections (5)
            """)
    void mistakesNameTheLineAndTheField(String name, String line4, String line5, String expected) {
        // The key under test is always on line 5.
        String yaml = LISTENER + "clusters:\n  - name: c\n"
                + "    " + (line4 == null ? "connect_timeout: 1s" : line4) + "\n"
                + "    " + line5 + "\n"
                + (line5.startsWith("endpoints") ? "" : "    endpoints: [ \"10.0.0.1:1\" ]\n");
        ConfigException error = assertThrows(ConfigException.class, () -> ConfigLoader.parse(yaml, "t.yaml"));
        assertTrue(error.getMessage().startsWith("t.yaml:" + expected), error.getMessage() + "\n---\n" + yaml);
    }

    @Test
    void listenerReusePortMustBeABoolean() {
        ConfigException error = assertThrows(ConfigException.class, () -> ConfigLoader.parse("""
                listeners:
                  - name: a
                    address: "127.0.0.1:0"
                    reuse_port: sometimes
                    routes: [ { action: reject } ]
                """, "t.yaml"));
        assertEquals("t.yaml:4:17: listeners[0].reuse_port: expected true or false, got 'sometimes'", error.getMessage());
    }

    @Test
    void validateCommandCoversTheClusterKeys(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("ferry.yaml");
        Files.writeString(file, LISTENER + """
                clusters:
                  - name: c
                    endpoints: [ "10.0.0.1:80" ]
                    load_balancing: consistent_hash
                    hash_on: tenant
                """);
        ConfigException error = assertThrows(ConfigException.class, () -> ConfigLoader.load(file));
        assertEquals(file + ":6:14: clusters[0].hash_on: unknown value 'tenant' (allowed: sni, host, source)",
                error.getMessage());
    }
}
