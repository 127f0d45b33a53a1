package dev.ferry.route;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * Reads a PROXY protocol header, version 1 (text) or 2 (binary), at the start of a connection
 * (haproxy.org/download/2.6/doc/proxy-protocol.txt).
 *
 * <p>Strict: a header is all or nothing. A v1 line with a stray space, a v2 header whose TLVs overrun it, or a
 * CRC32C TLV that does not check out is refused, not half-used, because the addresses in it decide
 * {@code source} routes. Every length is checked against the buffer before it is trusted.
 */
public final class ProxyHeader {

    /** The outcome of reading the first bytes of a connection as a PROXY header. */
    public sealed interface Parsed permits NeedMore, Absent, Invalid, Found {
    }

    /** The bytes so far could begin a PROXY header. */
    public record NeedMore() implements Parsed {
    }

    /** The bytes do not start with either signature: there is no PROXY header. */
    public record Absent() implements Parsed {
    }

    /** The bytes start with a signature but what follows is not a well-formed header. */
    public record Invalid(String why) implements Parsed {
    }

    /**
     * A complete header.
     *
     * @param length how many bytes the header takes, to strip before forwarding
     * @param version 1 or 2
     * @param source the original client; empty for {@code LOCAL} (a health check by the proxy itself), for
     *     {@code UNKNOWN} and for address families other than TCP over IPv4 or IPv6: the connection then stands
     *     for itself
     * @param destination the address the client connected to, on the proxy; empty when {@code source} is
     * @param authority the v2 {@code PP2_TYPE_AUTHORITY} TLV (the host name the client used, usually its SNI)
     */
    public record Found(int length, int version, Optional<InetSocketAddress> source,
                        Optional<InetSocketAddress> destination, Optional<String> authority) implements Parsed {

        public Found {
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(destination, "destination");
            Objects.requireNonNull(authority, "authority");
        }
    }

    public static final NeedMore NEED_MORE = new NeedMore();
    public static final Absent ABSENT = new Absent();

    static final byte[] V1_SIGNATURE = "PROXY ".getBytes(StandardCharsets.US_ASCII);
    static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    /** The longest v1 line, CRLF included (section 2.1). */
    static final int V1_MAX_LENGTH = 107;
    private static final int V2_FIXED_LENGTH = 16;
    /** Generous for addresses and TLVs (HAProxy's own SSL TLVs fit in a few hundred bytes). */
    static final int V2_MAX_LENGTH = 4096;

    private static final int PP2_TYPE_AUTHORITY = 0x02;
    private static final int PP2_TYPE_CRC32C = 0x03;
    private static final int MAX_AUTHORITY_LENGTH = 255;

    private ProxyHeader() {
    }

    /**
     * Reads a header from the start of {@code firstBytes}. Never throws, reads only between position and limit,
     * and leaves the buffer unchanged.
     */
    public static Parsed parse(ByteBuffer firstBytes) {
        int start = firstBytes.position();
        int available = firstBytes.limit() - start;
        if (available == 0) {
            return NEED_MORE;
        }
        byte first = firstBytes.get(start);
        if (first == V1_SIGNATURE[0]) {
            return startsWith(firstBytes, start, available, V1_SIGNATURE) ? parseV1(firstBytes, start, available)
                    : partialOrAbsent(firstBytes, start, available, V1_SIGNATURE);
        }
        if (first == V2_SIGNATURE[0]) {
            return startsWith(firstBytes, start, available, V2_SIGNATURE) ? parseV2(firstBytes, start, available)
                    : partialOrAbsent(firstBytes, start, available, V2_SIGNATURE);
        }
        return ABSENT;
    }

    private static boolean startsWith(ByteBuffer bytes, int start, int available, byte[] signature) {
        if (available < signature.length) {
            return false;
        }
        for (int i = 0; i < signature.length; i++) {
            if (bytes.get(start + i) != signature[i]) {
                return false;
            }
        }
        return true;
    }

    /** NeedMore while the bytes are a proper prefix of {@code signature}, else Absent. */
    private static Parsed partialOrAbsent(ByteBuffer bytes, int start, int available, byte[] signature) {
        int compared = Math.min(available, signature.length);
        for (int i = 0; i < compared; i++) {
            if (bytes.get(start + i) != signature[i]) {
                return ABSENT;
            }
        }
        return compared < signature.length ? NEED_MORE : ABSENT;
    }

    // ---- version 1: "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n" ----

    private static Parsed parseV1(ByteBuffer bytes, int start, int available) {
        int scanEnd = start + Math.min(available, V1_MAX_LENGTH);
        int lineEnd = -1;
        for (int i = start + V1_SIGNATURE.length; i < scanEnd; i++) {
            byte b = bytes.get(i);
            if (b == '\r') {
                lineEnd = i;
                break;
            }
            if (b < 0x20 || b > 0x7E) {
                return new Invalid("v1: byte " + (b & 0xFF) + " in the header line");
            }
        }
        if (lineEnd < 0) {
            return available < V1_MAX_LENGTH ? NEED_MORE : new Invalid("v1: no CRLF within 107 bytes");
        }
        if (lineEnd + 1 >= start + available) {
            return NEED_MORE;
        }
        if (bytes.get(lineEnd + 1) != '\n') {
            return new Invalid("v1: CR not followed by LF");
        }
        int length = lineEnd + 2 - start;
        if (length > V1_MAX_LENGTH) {
            return new Invalid("v1: line longer than 107 bytes");
        }
        byte[] line = new byte[lineEnd - start - V1_SIGNATURE.length];
        bytes.get(start + V1_SIGNATURE.length, line);
        return parseV1Fields(new String(line, StandardCharsets.US_ASCII), length);
    }

    private static Parsed parseV1Fields(String line, int length) {
        if (line.equals("UNKNOWN") || line.startsWith("UNKNOWN ")) {
            // The receiver must ignore whatever follows UNKNOWN (section 2.1).
            return new Found(length, 1, Optional.empty(), Optional.empty(), Optional.empty());
        }
        String[] fields = line.split(" ", -1);
        if (fields.length != 5) {
            return new Invalid("v1: expected protocol, two addresses and two ports separated by single spaces");
        }
        boolean ipv4 = fields[0].equals("TCP4");
        if (!ipv4 && !fields[0].equals("TCP6")) {
            return new Invalid("v1: unknown protocol");
        }
        Optional<InetAddress> source = ipv4 ? ipv4Literal(fields[1]) : ipv6Literal(fields[1]);
        Optional<InetAddress> destination = ipv4 ? ipv4Literal(fields[2]) : ipv6Literal(fields[2]);
        int sourcePort = port(fields[3]);
        int destinationPort = port(fields[4]);
        if (source.isEmpty() || destination.isEmpty() || sourcePort < 0 || destinationPort < 0) {
            return new Invalid("v1: bad address or port");
        }
        return new Found(length, 1, Optional.of(new InetSocketAddress(source.get(), sourcePort)),
                Optional.of(new InetSocketAddress(destination.get(), destinationPort)), Optional.empty());
    }

    private static Optional<InetAddress> ipv4Literal(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            return Optional.empty();
        }
        byte[] octets = new byte[4];
        for (int i = 0; i < 4; i++) {
            int value = decimal(parts[i], 3);
            if (value < 0 || value > 255) {
                return Optional.empty();
            }
            octets[i] = (byte) value;
        }
        return Optional.of(byAddress(octets));
    }

    private static Optional<InetAddress> ipv6Literal(String text) {
        if (text.isEmpty() || text.length() > 45 || text.indexOf(':') < 0
                || !text.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
                        || (c >= 'A' && c <= 'F') || c == ':' || c == '.')) {
            return Optional.empty();
        }
        try {
            InetAddress address = InetAddress.ofLiteral(text);
            // Keep IPv6 even for IPv4-mapped text, as the sender wrote it: Cidr handles mapped addresses.
            return Optional.of(address);
        } catch (IllegalArgumentException notAnAddress) {
            return Optional.empty();
        }
    }

    /** 0..65535 without leading zeros; -1 when malformed. */
    private static int port(String text) {
        int value = decimal(text, 5);
        return value > 65535 ? -1 : value;
    }

    /** A decimal of 1..maxDigits digits without leading zeros; -1 when malformed. */
    private static int decimal(String text, int maxDigits) {
        if (text.isEmpty() || text.length() > maxDigits || (text.length() > 1 && text.charAt(0) == '0')) {
            return -1;
        }
        int value = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            value = value * 10 + (c - '0');
        }
        return value;
    }

    // ---- version 2: signature, ver/cmd, family/transport, length, addresses, TLVs ----

    private static Parsed parseV2(ByteBuffer bytes, int start, int available) {
        if (available < V2_FIXED_LENGTH) {
            // Check what has arrived of the fixed part, so that garbage is refused without waiting.
            if (available > 12 && !validVersionCommand(bytes.get(start + 12))) {
                return new Invalid("v2: bad version or command");
            }
            return NEED_MORE;
        }
        int versionCommand = bytes.get(start + 12) & 0xFF;
        if (!validVersionCommand((byte) versionCommand)) {
            return new Invalid("v2: bad version or command");
        }
        int familyTransport = bytes.get(start + 13) & 0xFF;
        int addressLength = (bytes.get(start + 14) & 0xFF) << 8 | (bytes.get(start + 15) & 0xFF);
        int length = V2_FIXED_LENGTH + addressLength;
        if (length > V2_MAX_LENGTH) {
            return new Invalid("v2: header of " + length + " bytes is over the limit of " + V2_MAX_LENGTH);
        }
        if (available < length) {
            return NEED_MORE;
        }
        if ((versionCommand & 0x0F) == 0) {
            // LOCAL: the proxy's own connection, e.g. a health check; the address block is to be ignored.
            return new Found(length, 2, Optional.empty(), Optional.empty(), Optional.empty());
        }
        int family = familyTransport >> 4;
        int transport = familyTransport & 0x0F;
        int addressesLength;
        switch (family) {
            case 0 -> addressesLength = 0;            // AF_UNSPEC
            case 1 -> addressesLength = 12;           // AF_INET
            case 2 -> addressesLength = 36;           // AF_INET6
            case 3 -> addressesLength = 216;          // AF_UNIX
            default -> {
                return new Invalid("v2: unknown address family");
            }
        }
        if (transport > 2) {
            return new Invalid("v2: unknown transport");
        }
        if (addressLength < addressesLength) {
            return new Invalid("v2: addresses longer than the header");
        }
        int tlvStart = start + V2_FIXED_LENGTH + addressesLength;
        int end = start + length;
        Optional<String> authority = Optional.empty();
        int at = tlvStart;
        while (at < end) {
            if (end - at < 3) {
                return new Invalid("v2: truncated TLV");
            }
            int type = bytes.get(at) & 0xFF;
            int valueLength = (bytes.get(at + 1) & 0xFF) << 8 | (bytes.get(at + 2) & 0xFF);
            int valueStart = at + 3;
            if (valueLength > end - valueStart) {
                return new Invalid("v2: TLV runs past the header");
            }
            if (type == PP2_TYPE_AUTHORITY) {
                if (authority.isPresent() || valueLength == 0 || valueLength > MAX_AUTHORITY_LENGTH) {
                    return new Invalid("v2: bad authority TLV");
                }
                byte[] value = new byte[valueLength];
                bytes.get(valueStart, value);
                String text = new String(value, StandardCharsets.ISO_8859_1);
                if (!text.chars().allMatch(c -> c > 0x20 && c < 0x7F)) {
                    return new Invalid("v2: bad authority TLV");
                }
                authority = Optional.of(text);
            } else if (type == PP2_TYPE_CRC32C) {
                if (valueLength != 4 || !crcMatches(bytes, start, length, valueStart)) {
                    return new Invalid("v2: CRC32C mismatch");
                }
            }
            at = valueStart + valueLength;
        }
        // AF_UNSPEC, AF_UNIX and datagram transports: the connection stands for itself (section 2.2).
        if (transport != 1 || (family != 1 && family != 2)) {
            return new Found(length, 2, Optional.empty(), Optional.empty(), authority);
        }
        int addressBytes = family == 1 ? 4 : 16;
        int addresses = start + V2_FIXED_LENGTH;
        byte[] source = new byte[addressBytes];
        byte[] destination = new byte[addressBytes];
        bytes.get(addresses, source);
        bytes.get(addresses + addressBytes, destination);
        int ports = addresses + 2 * addressBytes;
        int sourcePort = (bytes.get(ports) & 0xFF) << 8 | (bytes.get(ports + 1) & 0xFF);
        int destinationPort = (bytes.get(ports + 2) & 0xFF) << 8 | (bytes.get(ports + 3) & 0xFF);
        return new Found(length, 2, Optional.of(new InetSocketAddress(byAddress(source), sourcePort)),
                Optional.of(new InetSocketAddress(byAddress(destination), destinationPort)), authority);
    }

    /** Version 2, command LOCAL (0) or PROXY (1). */
    private static boolean validVersionCommand(byte versionCommand) {
        return (versionCommand & 0xF0) == 0x20 && (versionCommand & 0x0F) <= 1;
    }

    /** Section 2.2.5: the CRC32C of the whole header with the checksum field's four bytes taken as zero. */
    private static boolean crcMatches(ByteBuffer bytes, int start, int length, int checksumAt) {
        byte[] header = new byte[length];
        bytes.get(start, header);
        int offset = checksumAt - start;
        long expected = (header[offset] & 0xFFL) << 24 | (header[offset + 1] & 0xFFL) << 16
                | (header[offset + 2] & 0xFFL) << 8 | (header[offset + 3] & 0xFFL);
        for (int i = 0; i < 4; i++) {
            header[offset + i] = 0;
        }
        CRC32C crc = new CRC32C();
        crc.update(header);
        return crc.getValue() == expected;
    }

    private static InetAddress byAddress(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException impossibleForFourOrSixteenBytes) {
            throw new IllegalStateException(impossibleForFourOrSixteenBytes);
        }
    }
}
