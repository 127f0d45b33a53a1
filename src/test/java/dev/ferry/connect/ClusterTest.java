package dev.ferry.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.config.ClusterConfig;
import dev.ferry.config.ConfigLoader;
import dev.ferry.stats.Stats;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** A cluster's limits, DNS re-resolution and passive ejection, without sockets. */
class ClusterTest {
    static ClusterConfig cluster(String body) throws Exception {
        return ConfigLoader.parse("""
                listeners: [ { name: l, address: "127.0.0.1:0", routes: [ { cluster: c } ] } ]
                clusters:
                  - name: c
                """ + body.indent(4), "t.yaml").clusters().getFirst();
    }

    static InetSocketAddress client(String ip) {
        return new InetSocketAddress(ip, 40000);
    }

    @Test
    void maxConnectionsRefusesTheExcessAndReleaseMakesRoom() throws Exception {
        Stats stats = new Stats();
        Cluster c = new Cluster(cluster("""
                endpoints: [ "127.0.0.1:9001" ]
                max_connections: 3
                max_connections_per_source: 2
                """), Optional.empty(), Resolver.SYSTEM, stats);

        Lease a1 = c.admit(client("10.0.0.1"));
        Lease a2 = c.admit(client("10.0.0.1"));
        var perSource = assertThrows(BackendConnector.NoBackendException.class, () -> c.admit(client("10.0.0.1")));
        assertEquals("source_max_connections", perSource.reason());
        Lease b1 = c.admit(client("10.0.0.2"));
        var total = assertThrows(BackendConnector.NoBackendException.class, () -> c.admit(client("10.0.0.3")));
        assertEquals("cluster_max_connections", total.reason());
        assertEquals(3, c.activeConnections());
        assertEquals(1, stats.get("ferry_cluster_refused_total{cluster=\"c\",reason=\"cluster_max_connections\"}"));
        assertEquals(1, stats.get("ferry_cluster_refused_total{cluster=\"c\",reason=\"source_max_connections\"}"));

        a1.release();
        a1.release(); // idempotent
        assertEquals(2, c.activeConnections());
        assertEquals(1, c.activeConnections(InetAddress.getByName("10.0.0.1")));
        Lease a3 = c.admit(client("10.0.0.1"));
        a2.release();
        a3.release();
        b1.release();
        assertEquals(0, c.activeConnections());
        assertEquals(0, c.activeConnections(InetAddress.getByName("10.0.0.1")));
    }

    @Test
    void aReloadedClusterKeepsCountsAndEndpointState() throws Exception {
        Cluster before = new Cluster(cluster("""
                endpoints: [ "127.0.0.1:9001", "127.0.0.1:9002" ]
                max_connections: 2
                """));
        Lease open = before.admit(client("10.0.0.1"));
        before.endpoints().get(1).eject(System.nanoTime() + 60_000_000_000L);

        Cluster after = new Cluster(cluster("""
                endpoints: [ "127.0.0.1:9002", "127.0.0.1:9003" ]
                max_connections: 2
                load_balancing: least_connections
                """), Optional.of(before), Resolver.SYSTEM, new Stats());

        assertEquals(1, after.activeConnections());
        assertSame(before.endpoints().get(1), after.endpoints().getFirst());
        assertFalse(after.endpoints().getFirst().available(System.nanoTime()));
        after.admit(client("10.0.0.2"));
        assertThrows(BackendConnector.NoBackendException.class, () -> after.admit(client("10.0.0.3")));
        open.release(); // opened before the reload, released into the same count
        assertEquals(1, after.activeConnections());
    }

    @Test
    void dnsNamesAreResolvedAgainAndFailuresKeepTheLastAnswer() throws Exception {
        AtomicReference<Object> answer = new AtomicReference<>(List.of(
                InetAddress.getByName("::1"), InetAddress.getByName("127.0.0.2"), InetAddress.getByName("127.0.0.1")));
        List<String> asked = new ArrayList<>();
        Resolver fake = name -> {
            asked.add(name);
            Object now = answer.get();
            if (now instanceof IOException failure) {
                throw failure;
            }
            @SuppressWarnings("unchecked")
            List<InetAddress> addresses = (List<InetAddress>) now;
            return addresses;
        };
        Cluster c = new Cluster(cluster("""
                endpoints:
                  - "10.1.1.1:80"
                  - { address: "Backend.Internal:8080", weight: 3 }
                dns_refresh: 5s
                """), Optional.empty(), fake, new Stats());

        assertEquals(List.of("backend.internal"), asked);
        // A and AAAA, IPv4 first and sorted, each with the entry's weight
        assertEquals(List.of("10.1.1.1:80", "127.0.0.1:8080", "127.0.0.2:8080", "[::1]:8080"),
                c.endpoints().stream().map(Endpoint::label).toList());
        Endpoint kept = c.endpoints().get(1);

        answer.set(List.of(InetAddress.getByName("127.0.0.1"), InetAddress.getByName("127.0.0.3")));
        c.refreshDns();
        assertEquals(List.of("10.1.1.1:80", "127.0.0.1:8080", "127.0.0.3:8080"),
                c.endpoints().stream().map(Endpoint::label).toList());
        assertSame(kept, c.endpoints().get(1), "an address that stays keeps its state");

        answer.set(new UnknownHostException("backend.internal: SERVFAIL"));
        c.refreshDns();
        assertEquals(3, c.endpoints().size(), "a failed lookup keeps the last answer");

        answer.set(List.of());
        c.refreshDns();
        assertEquals(List.of("10.1.1.1:80"), c.endpoints().stream().map(Endpoint::label).toList());
    }

    @Test
    void aNameThatNeverResolvedLeavesNoEndpointAndRefusesWithAReason() throws Exception {
        Cluster c = new Cluster(cluster("""
                endpoints: [ "nowhere.invalid:80" ]
                """), Optional.empty(), name -> {
                    throw new UnknownHostException(name);
                }, new Stats());

        var refused = assertThrows(BackendConnector.NoBackendException.class,
                () -> c.attemptOrder(ConnectionKeys.ofSource(client("10.0.0.1"))));
        assertEquals("no_healthy_endpoint", refused.reason());
        assertTrue(refused.getMessage().contains("no DNS name resolved"), refused.getMessage());
    }

    @Test
    void localhostResolvesThroughTheSystemResolver() throws Exception {
        Cluster c = new Cluster(cluster("""
                endpoints: [ "localhost:8080" ]
                """));
        List<InetAddress> expected = new ArrayList<>(List.of(InetAddress.getAllByName("localhost")));
        assertEquals(expected.size(), c.endpoints().size());
        assertTrue(c.endpoints().stream().allMatch(e -> e.address().getAddress().isLoopbackAddress()));
    }

    @Test
    void consecutiveConnectFailuresEjectForTheEjectionTime() throws Exception {
        Stats stats = new Stats();
        Cluster c = new Cluster(cluster("""
                endpoints: [ "127.0.0.1:9001", "127.0.0.1:9002" ]
                outlier_detection: { consecutive_failures: 3, ejection_time: 300ms }
                """), Optional.empty(), Resolver.SYSTEM, stats);
        Endpoint bad = c.endpoints().getFirst();
        ConnectionKeys keys = ConnectionKeys.ofSource(client("10.0.0.1"));

        c.connectFailed(bad, "refused");
        c.connectFailed(bad, "refused");
        c.connectSucceeded(bad); // a success in between starts the count again
        c.connectFailed(bad, "refused");
        c.connectFailed(bad, "refused");
        assertTrue(bad.available(System.nanoTime()));
        c.connectFailed(bad, "refused");
        assertFalse(bad.available(System.nanoTime()));
        assertEquals(1, stats.get("ferry_endpoint_ejections_total{cluster=\"c\",endpoint=\"127.0.0.1:9001\"}"));
        for (int i = 0; i < 10; i++) {
            assertEquals(List.of(c.endpoints().get(1)), c.attemptOrder(keys));
        }
        assertTrue(c.gauges().contains("ferry_endpoint_up{cluster=\"c\",endpoint=\"127.0.0.1:9001\"} 0"), c.gauges());

        Thread.sleep(350);
        assertTrue(bad.available(System.nanoTime()), "back after the ejection time");
        c.connectFailed(bad, "refused"); // still failing: ejected again at once
        assertFalse(bad.available(System.nanoTime()));
        assertEquals(2, stats.get("ferry_endpoint_ejections_total{cluster=\"c\",endpoint=\"127.0.0.1:9001\"}"));
    }

    @Test
    void withoutOutlierDetectionFailuresEjectNothing() throws Exception {
        Cluster c = new Cluster(cluster("""
                endpoints: [ "127.0.0.1:9001" ]
                """));
        for (int i = 0; i < 100; i++) {
            c.connectFailed(c.endpoints().getFirst(), "refused");
        }
        assertTrue(c.endpoints().getFirst().available(System.nanoTime()));
    }
}
