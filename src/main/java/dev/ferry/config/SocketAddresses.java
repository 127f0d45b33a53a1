package dev.ferry.config;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads {@code a.b.c.d:port} and {@code [ipv6]:port}.
 *
 * <p>Only IP literals for listeners: resolving names while loading would make the result depend on DNS at that
 * moment and could block start-up. Cluster endpoints may also be DNS names ({@link #parseEndpoint}), kept
 * unresolved here.
 */
final class SocketAddresses {

    private static final Pattern IPV4_AND_PORT = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3}):(\\d{1,5})");
    private static final Pattern IPV6_AND_PORT = Pattern.compile("\\[([0-9A-Fa-f:.]+)]:(\\d{1,5})");
    private static final Pattern ENDS_WITH_PORT = Pattern.compile(".*:\\d+");

    /** Whether port 0 (the kernel picks a free port) makes sense where the address is used. */
    enum Port { ANY_ALLOWED, FIXED }

    private SocketAddresses() {
    }

    /** @throws IllegalArgumentException with a message fit for the user */
    static InetSocketAddress parse(String text, Port portRule) {
        Matcher ipv4 = IPV4_AND_PORT.matcher(text);
        if (ipv4.matches()) {
            byte[] octets = new byte[4];
            for (int i = 0; i < 4; i++) {
                octets[i] = (byte) octet(ipv4.group(i + 1), text);
            }
            return new InetSocketAddress(fromBytes(octets, text), port(ipv4.group(5), text, portRule));
        }
        Matcher ipv6 = IPV6_AND_PORT.matcher(text);
        if (ipv6.matches()) {
            return new InetSocketAddress(ipv6Literal(ipv6.group(1), text), port(ipv6.group(2), text, portRule));
        }
        throw new IllegalArgumentException(explainUnreadable(text));
    }

    private static final Pattern NAME_AND_PORT = Pattern.compile("([A-Za-z0-9_.-]+):(\\d{1,5})");
    private static final Pattern NUMERIC_LABEL = Pattern.compile(".*(^|\\.)\\d+$");

    /**
     * Reads an endpoint: an IP literal as {@link #parse} does, or {@code name:port} where the name is a DNS name
     * (returned unresolved: it is resolved when the cluster starts, never while loading).
     *
     * @throws IllegalArgumentException with a message fit for the user
     */
    static InetSocketAddress parseEndpoint(String text) {
        Matcher named = NAME_AND_PORT.matcher(text);
        if (named.matches() && DnsName.isValid(named.group(1)) && !NUMERIC_LABEL.matcher(named.group(1)).matches()) {
            // A name whose last label is numeric would be a mistyped IPv4 address, not a host name.
            return InetSocketAddress.createUnresolved(named.group(1).toLowerCase(java.util.Locale.ROOT),
                    port(named.group(2), text, Port.FIXED));
        }
        try {
            return parse(text, Port.FIXED);
        } catch (IllegalArgumentException invalid) {
            throw new IllegalArgumentException(invalid.getMessage().replace(
                    "host names are not resolved, give an IP address", "not a valid host name"));
        }
    }

    private static String explainUnreadable(String text) {
        String shape = "expected IPv4:port or [IPv6]:port, e.g. 127.0.0.1:8443 or [::1]:8443";
        if (!ENDS_WITH_PORT.matcher(text).matches() && !text.contains("]:")) {
            return "invalid address '" + text + "': missing port; " + shape;
        }
        if (text.chars().filter(c -> c == ':').count() > 1 && !text.startsWith("[")) {
            return "invalid address '" + text + "': an IPv6 address needs brackets; " + shape;
        }
        if (text.chars().anyMatch(Character::isLetter) && !text.startsWith("[")) {
            return "invalid address '" + text + "': host names are not resolved, give an IP address; " + shape;
        }
        return "invalid address '" + text + "': " + shape;
    }

    private static int octet(String digits, String text) {
        int value = Integer.parseInt(digits);
        // Leading zeros are refused because some tools read them as octal.
        if (value > 255 || (digits.length() > 1 && digits.charAt(0) == '0')) {
            throw new IllegalArgumentException("invalid address '" + text + "': bad IPv4 octet '" + digits + "'");
        }
        return value;
    }

    private static int port(String digits, String text, Port portRule) {
        int port = Integer.parseInt(digits);
        int lowest = portRule == Port.ANY_ALLOWED ? 0 : 1;
        if (port < lowest || port > 65535) {
            throw new IllegalArgumentException("invalid address '" + text + "': port must be " + lowest
                    + "..65535, got " + port);
        }
        return port;
    }

    private static InetAddress fromBytes(byte[] octets, String text) {
        try {
            return InetAddress.getByAddress(octets);
        } catch (UnknownHostException impossibleForFourBytes) {
            throw new IllegalArgumentException("invalid address '" + text + "'", impossibleForFourBytes);
        }
    }

    private static InetAddress ipv6Literal(String literal, String text) {
        if (literal.indexOf(':') < 0) {
            throw new IllegalArgumentException("invalid address '" + text + "': brackets are for IPv6 addresses");
        }
        try {
            return InetAddress.ofLiteral(literal); // parses only, never consults DNS
        } catch (IllegalArgumentException notAnAddress) {
            throw new IllegalArgumentException("invalid address '" + text + "': bad IPv6 address '" + literal + "'");
        }
    }
}
