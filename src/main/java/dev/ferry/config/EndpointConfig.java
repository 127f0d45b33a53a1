package dev.ferry.config;

import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * One entry of a cluster's {@code endpoints}: an IP literal, or a DNS name that is resolved (A and AAAA) when
 * the cluster starts and again every {@code dns_refresh}; every address a name resolves to is an endpoint.
 *
 * @param address resolved for an IP literal, {@linkplain InetSocketAddress#isUnresolved() unresolved} for a
 *     DNS name; the port is never 0
 * @param weight relative share of new connections (YAML {@code weight}, 1 to {@value #MAX_WEIGHT}, default 1)
 */
public record EndpointConfig(InetSocketAddress address, int weight) {

    public static final int MAX_WEIGHT = 1000;

    public EndpointConfig {
        Objects.requireNonNull(address, "address");
        if (weight < 1 || weight > MAX_WEIGHT) {
            throw new IllegalArgumentException("weight must be 1.." + MAX_WEIGHT + ": " + weight);
        }
        if (address.getPort() == 0) {
            throw new IllegalArgumentException("endpoint port must not be 0: " + address);
        }
    }

    public static EndpointConfig of(InetSocketAddress address) {
        return new EndpointConfig(address, 1);
    }

    /** Whether the address is a DNS name that Ferry resolves, rather than an IP literal. */
    public boolean isDnsName() {
        return address.isUnresolved();
    }

    /** {@code host:port} as written, with brackets around IPv6 literals. */
    public String text() {
        return format(address);
    }

    /** {@code a.b.c.d:port}, {@code [v6]:port} or {@code name:port}. */
    public static String format(InetSocketAddress address) {
        if (address.isUnresolved()) {
            return address.getHostString() + ":" + address.getPort();
        }
        // RFC 5952 text for IPv6 ([::1], not [0:0:0:0:0:0:0:1]), without a scope.
        String host = io.netty.util.NetUtil.toAddressString(address.getAddress());
        return (address.getAddress() instanceof Inet6Address ? "[" + host + "]" : host) + ":" + address.getPort();
    }
}
