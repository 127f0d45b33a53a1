package dev.ferry.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Each rule of the configuration, broken once; the message must say where (line:column and path) and why. */
class InvalidConfigTest {

    private static final String CLUSTER_EU = """
            clusters:
              - name: eu
                endpoints: [ "127.0.0.1:9001" ]
            """;

    /** A one-listener file whose listener address is {@code address} (line 3, column 14). */
    private static String withListenerAddress(String address) {
        return """
                listeners:
                  - name: edge
                    address: %s
                    routes:
                      - cluster: eu
                """.formatted(address) + CLUSTER_EU;
    }

    /** A one-listener file whose only route is {@code route}, indented to start at line 5, column 9. */
    private static String withRoute(String route) {
        return """
                listeners:
                  - name: edge
                    address: 127.0.0.1:8443
                    routes:
                      - %s
                """.formatted(route.strip().replace("\n", "\n        ")) + CLUSTER_EU;
    }

    static Stream<Arguments> brokenConfigs() {
        return Stream.of(
                Arguments.of("empty file", "", "1:1: (root): the file is empty"),
                Arguments.of("top level is a list", "- a\n", "1:1: (root): expected a mapping, got a list"),
                Arguments.of("unknown top-level key", "listener: []\n",
                        "1:1: listener: unknown key 'listener' (allowed: sockmap, flow, admin, listeners, clusters"),
                Arguments.of("no listeners key", CLUSTER_EU, "1:1: (root): missing required key 'listeners'"),
                Arguments.of("empty listeners", "listeners: []\n",
                        "1:12: listeners: at least one listener is required"),
                Arguments.of("duplicate key", "sockmap:\n  max_connections: 1\n  max_connections: 2\n",
                        "3:3: sockmap.max_connections: duplicate key 'max_connections'"),
                Arguments.of("size of the wrong type", "sockmap: { max_connections: many }\n",
                        "1:29: sockmap.max_connections: expected a whole number, got 'many'"),
                Arguments.of("zero size", "sockmap: { max_connections: 0 }\n",
                        "1:29: sockmap.max_connections: must be positive, got 0"),
                Arguments.of("null size", "sockmap:\n  max_connections:\n",
                        "2:19: sockmap.max_connections: expected an integer, got nothing (null)"),
                Arguments.of("socket buffer that is not a size", "socket_buffers: { client_receive: big }\n" + withListenerAddress("127.0.0.1:8443"),
                        "1:35: socket_buffers.client_receive: expected a size in bytes such as 4194304 or 4MiB"
                                + " (suffixes KiB, MiB, GiB), got 'big'"),
                Arguments.of("socket buffer above 1 GiB", "socket_buffers: { backend_send: 2GiB }\n" + withListenerAddress("127.0.0.1:8443"),
                        "1:33: socket_buffers.backend_send: must be at most 1073741824 bytes, got 2GiB"),
                Arguments.of("unknown socket buffer", "socket_buffers: { server_send: 1 }\n" + withListenerAddress("127.0.0.1:8443"),
                        "1:19: socket_buffers.server_send: unknown key 'server_send' (allowed: client_receive,"
                                + " client_send, backend_receive, backend_send)"),
                Arguments.of("admin without address", "admin: {}\n",
                        "1:8: admin: missing required key 'address'"),
                Arguments.of("host name as address", withListenerAddress("localhost:8443"),
                        "3:14: listeners[0].address: invalid address 'localhost:8443': host names are not resolved"),
                Arguments.of("address without port", withListenerAddress("127.0.0.1"),
                        "3:14: listeners[0].address: invalid address '127.0.0.1': missing port"),
                Arguments.of("port out of range", withListenerAddress("127.0.0.1:70000"),
                        "3:14: listeners[0].address: invalid address '127.0.0.1:70000': port must be 0..65535"),
                Arguments.of("bad octet", withListenerAddress("300.0.0.1:80"),
                        "3:14: listeners[0].address: invalid address '300.0.0.1:80': bad IPv4 octet '300'"),
                Arguments.of("IPv6 without brackets", withListenerAddress("\"::1:80\""),
                        "3:14: listeners[0].address: invalid address '::1:80': an IPv6 address needs brackets"),
                Arguments.of("address is a list", withListenerAddress("[ a ]"),
                        "3:14: listeners[0].address: expected an address such as 127.0.0.1:8443, got a list"),
                Arguments.of("endpoint with port 0", """
                        listeners: [ { name: a, address: "127.0.0.1:1", routes: [ { cluster: eu } ] } ]
                        clusters:
                          - name: eu
                            endpoints: [ "127.0.0.1:9001", "127.0.0.1:0" ]
                        """, "4:36: clusters[0].endpoints[1]: invalid address '127.0.0.1:0': port must be 1..65535"),
                Arguments.of("empty endpoints", """
                        listeners: [ { name: a, address: "127.0.0.1:1", routes: [ { cluster: eu } ] } ]
                        clusters:
                          - name: eu
                            endpoints: []
                        """, "4:16: clusters[0].endpoints: a cluster needs at least one endpoint"),
                Arguments.of("bad cluster name", """
                        listeners: [ { name: a, address: "127.0.0.1:1", routes: [ { action: reject } ] } ]
                        clusters:
                          - name: "e u"
                            endpoints: [ "127.0.0.1:9001" ]
                        """, "3:11: clusters[0].name: invalid name 'e u'"),
                Arguments.of("duplicate listener name", """
                        listeners:
                          - { name: edge, address: "127.0.0.1:1", routes: [ { action: reject } ] }
                          - { name: edge, address: "127.0.0.1:2", routes: [ { action: reject } ] }
                        """, "3:13: listeners[1].name: duplicate listener name 'edge' (first at line 2)"),
                Arguments.of("duplicate listener address", """
                        listeners:
                          - { name: a, address: "127.0.0.1:1", routes: [ { action: reject } ] }
                          - { name: b, address: "127.0.0.1:1", routes: [ { action: reject } ] }
                        """, "3:25: listeners[1].address: address 127.0.0.1:1 overlaps the listener at line 2"),
                Arguments.of("wildcard address over a specific one", """
                        listeners:
                          - { name: a, address: "127.0.0.1:1", routes: [ { action: reject } ] }
                          - { name: b, address: "0.0.0.0:1", routes: [ { action: reject } ] }
                        """, "3:25: listeners[1].address: address 0.0.0.0:1 overlaps the listener at line 2"),
                Arguments.of("bare number duration", """
                        listeners:
                          - name: a
                            address: 127.0.0.1:1
                            idle_timeout: 30
                            routes: [ { action: reject } ]
                        """, "4:19: listeners[0].idle_timeout: missing unit in '30': a bare number is not taken as"
                        + " seconds or milliseconds; write e.g. 30s or 30ms"),
                Arguments.of("unknown duration unit", """
                        listeners:
                          - name: a
                            address: 127.0.0.1:1
                            idle_timeout: 1d
                            routes: [ { action: reject } ]
                        """, "4:19: listeners[0].idle_timeout: invalid duration '1d'"),
                Arguments.of("zero duration", """
                        listeners:
                          - name: a
                            address: 127.0.0.1:1
                            first_packet: { timeout: 0ms }
                            routes: [ { action: reject } ]
                        """, "4:30: listeners[0].first_packet.timeout: duration must be positive, got '0ms'"),
                Arguments.of("negative max_bytes", """
                        listeners:
                          - name: a
                            address: 127.0.0.1:1
                            first_packet: { max_bytes: -1 }
                            routes: [ { action: reject } ]
                        """, "4:32: listeners[0].first_packet.max_bytes: must be positive, got -1"),
                Arguments.of("no routes", """
                        listeners:
                          - name: a
                            address: 127.0.0.1:1
                            routes: []
                        """, "4:13: listeners[0].routes: a listener needs at least one route"),
                Arguments.of("forward without cluster", withRoute("match: { sni: a.example.com }"),
                        "5:9: listeners[0].routes[0]: missing 'cluster': a forwarding route needs one"),
                Arguments.of("explicit forward without cluster", withRoute("action: forward"),
                        "5:9: listeners[0].routes[0]: missing 'cluster'"),
                Arguments.of("unknown action", withRoute("action: drop"),
                        "5:17: listeners[0].routes[0].action: unknown action 'drop' (allowed: forward, reject)"),
                Arguments.of("match without matcher", withRoute("match: {}\ncluster: eu"),
                        "5:16: listeners[0].routes[0].match: a match needs at least one of sni, alpn, tls, host, method,"
                        + " path_prefix, source, destination_port, token, kafka_client_id, prefix, all, any, not"
                        + " (leave out 'match' for a catch-all route)"),
                Arguments.of("null match", withRoute("match:\ncluster: eu"),
                        "5:15: listeners[0].routes[0].match: expected a mapping, got nothing (null)"),
                Arguments.of("unknown matcher", withRoute("match: { cookie: a }\ncluster: eu"),
                        "5:18: listeners[0].routes[0].match.cookie: unknown key 'cookie' (allowed: sni, alpn, tls,"),
                Arguments.of("bare wildcard sni", withRoute("match: { sni: \"*\" }\ncluster: eu"),
                        "5:23: listeners[0].routes[0].match.sni: invalid server name pattern '*'"),
                Arguments.of("inner wildcard sni", withRoute("match: { sni: \"*example.com\" }\ncluster: eu"),
                        "5:23: listeners[0].routes[0].match.sni: invalid server name pattern '*example.com'"),
                Arguments.of("sni with trailing dot", withRoute("match: { sni: example.com. }\ncluster: eu"),
                        "5:23: listeners[0].routes[0].match.sni: invalid server name pattern 'example.com.'"),
                Arguments.of("host with port", withRoute("match: { host: \"api.example.com:8080\" }\ncluster: eu"),
                        "5:24: listeners[0].routes[0].match.host: invalid host 'api.example.com:8080': leave out the port"),
                Arguments.of("host with wildcard", withRoute("match: { host: \"*.example.com\" }\ncluster: eu"),
                        "5:24: listeners[0].routes[0].match.host: invalid host '*.example.com': wildcards are only supported by sni"),
                Arguments.of("empty prefix", withRoute("match: { prefix: \"\" }\naction: reject"),
                        "5:26: listeners[0].routes[0].match.prefix: must not be empty"),
                Arguments.of("prefix longer than max_bytes", """
                        listeners:
                          - name: a
                            address: 127.0.0.1:1
                            first_packet: { max_bytes: 3 }
                            routes: [ { match: { prefix: PING }, action: reject } ]
                        """, "5:34: listeners[0].routes[0].match.prefix: prefix is 4 bytes, longer than"
                        + " first_packet.max_bytes (3)"),
                Arguments.of("cluster not defined anywhere", """
                        listeners: [ { name: a, address: "127.0.0.1:1", routes: [ { cluster: eu } ] } ]
                        """, "1:70: listeners[0].routes[0].cluster: unknown cluster 'eu' (defined: none)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenConfigs")
    void brokenConfigIsRefusedWithItsLocation(String rule, String yaml, String expected) {
        ConfigException error = assertThrows(ConfigException.class, () -> ConfigLoader.parse(yaml, "test.yaml"));

        assertTrue(error.getMessage().startsWith("test.yaml:" + expected),
                () -> "expected test.yaml:" + expected + "\n     got " + error.getMessage());
    }

    @Test
    void exceptionExposesThePartsOfItsMessage() {
        ConfigException error = assertThrows(ConfigException.class,
                () -> ConfigLoader.parse(withRoute("action: drop"), "parts.yaml"));

        assertEquals("parts.yaml", error.source());
        assertEquals(5, error.line());
        assertEquals(17, error.column());
        assertEquals("listeners[0].routes[0].action", error.fieldPath());
        assertEquals("unknown action 'drop' (allowed: forward, reject)", error.problem());
        assertEquals("parts.yaml:5:17: listeners[0].routes[0].action: unknown action 'drop' (allowed: forward, reject)",
                error.getMessage());
    }
}
