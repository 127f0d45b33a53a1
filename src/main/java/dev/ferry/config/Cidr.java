package dev.ferry.config;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * An IPv4 or IPv6 network in CIDR notation ({@code 10.0.0.0/8}, {@code 2001:db8::/32}); a bare address is a
 * network of one ({@code /32} or {@code /128}).
 *
 * <p>An IPv4-mapped IPv6 address ({@code ::ffff:10.1.2.3}, what a dual-stack socket reports for an IPv4 peer)
 * is compared as the IPv4 address it maps, so one IPv4 entry covers both.
 *
 * @param network the network address, host bits zero
 * @param prefixLength 0..32 for IPv4, 0..128 for IPv6
 */
public record Cidr(InetAddress network, int prefixLength) {

    private static final Pattern IPV4 = Pattern.compile("(0|[1-9]\\d{0,2})(\\.(0|[1-9]\\d{0,2})){3}");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");

    public Cidr {
        Objects.requireNonNull(network, "network");
        int bits = network.getAddress().length * 8;
        if (prefixLength < 0 || prefixLength > bits) {
            throw new IllegalArgumentException("prefix length " + prefixLength + " out of 0.." + bits);
        }
        if (!Arrays.equals(network.getAddress(), masked(network.getAddress(), prefixLength))) {
            throw new IllegalArgumentException("host bits set in " + network.getHostAddress() + "/" + prefixLength);
        }
    }

    /**
     * Parses {@code address[/length]}, IP literals only.
     *
     * @throws IllegalArgumentException with a message fit for the user
     */
    public static Cidr parse(String text) {
        int slash = text.indexOf('/');
        String addressText = slash < 0 ? text : text.substring(0, slash);
        InetAddress address = literal(addressText, text);
        int bits = address.getAddress().length * 8;
        int length = bits;
        if (slash >= 0) {
            String lengthText = text.substring(slash + 1);
            if (!lengthText.matches("0|[1-9]\\d{0,2}") || Integer.parseInt(lengthText) > bits) {
                throw new IllegalArgumentException("invalid network '" + text + "': prefix length must be 0.." + bits);
            }
            length = Integer.parseInt(lengthText);
        }
        byte[] network = masked(address.getAddress(), length);
        if (!Arrays.equals(network, address.getAddress())) {
            throw new IllegalArgumentException("invalid network '" + text + "': host bits are set (did you mean "
                    + byAddress(network).getHostAddress() + "/" + length + "?)");
        }
        return new Cidr(address, length);
    }

    private static InetAddress literal(String addressText, String text) {
        String hint = "expected an IPv4 or IPv6 network such as 10.0.0.0/8 or 2001:db8::/32";
        if (IPV4.matcher(addressText).matches()) {
            byte[] octets = new byte[4];
            String[] parts = addressText.split("\\.");
            for (int i = 0; i < 4; i++) {
                int value = Integer.parseInt(parts[i]);
                if (value > 255) {
                    throw new IllegalArgumentException("invalid network '" + text + "': bad IPv4 octet '" + parts[i] + "'");
                }
                octets[i] = (byte) value;
            }
            return byAddress(octets);
        }
        if (IPV6.matcher(addressText).matches()) {
            try {
                return InetAddress.ofLiteral(addressText); // parses only, never consults DNS
            } catch (IllegalArgumentException notAnAddress) {
                throw new IllegalArgumentException("invalid network '" + text + "': " + hint);
            }
        }
        throw new IllegalArgumentException("invalid network '" + text + "': " + hint);
    }

    /** Whether {@code address} lies in this network; IPv4-mapped IPv6 addresses count as IPv4. */
    public boolean contains(InetAddress address) {
        byte[] bytes = comparable(address);
        byte[] net = network.getAddress();
        if (bytes.length != net.length) {
            return false;
        }
        int fullBytes = prefixLength / 8;
        for (int i = 0; i < fullBytes; i++) {
            if (bytes[i] != net[i]) {
                return false;
            }
        }
        int restBits = prefixLength % 8;
        if (restBits == 0) {
            return true;
        }
        int mask = (0xFF << (8 - restBits)) & 0xFF;
        return (bytes[fullBytes] & mask) == (net[fullBytes] & mask);
    }

    /** The address bytes, with an IPv4-mapped IPv6 address reduced to its four IPv4 bytes. */
    static byte[] comparable(InetAddress address) {
        byte[] bytes = address.getAddress();
        if (address instanceof Inet6Address && isIpv4Mapped(bytes)) {
            return Arrays.copyOfRange(bytes, 12, 16);
        }
        return bytes;
    }

    private static boolean isIpv4Mapped(byte[] bytes) {
        for (int i = 0; i < 10; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return bytes[10] == (byte) 0xFF && bytes[11] == (byte) 0xFF;
    }

    private static byte[] masked(byte[] address, int prefixLength) {
        byte[] out = address.clone();
        for (int bit = prefixLength; bit < out.length * 8; bit++) {
            out[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
        }
        return out;
    }

    private static InetAddress byAddress(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes);
        } catch (java.net.UnknownHostException impossible) {
            throw new IllegalArgumentException(impossible);
        }
    }

    @Override
    public String toString() {
        return network.getHostAddress() + "/" + prefixLength;
    }
}
