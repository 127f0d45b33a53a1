package dev.ferry.route;

import java.io.ByteArrayOutputStream;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/** PROXY protocol headers built by the specification, for tests. */
final class ProxyHeaders {

    static final int AF_INET = 1;
    static final int AF_INET6 = 2;
    static final int STREAM = 1;

    private ProxyHeaders() {
    }

    static byte[] v1(InetSocketAddress source, InetSocketAddress destination) {
        String family = source.getAddress() instanceof Inet4Address ? "TCP4" : "TCP6";
        return ("PROXY " + family + " " + source.getAddress().getHostAddress() + " "
                + destination.getAddress().getHostAddress() + " " + source.getPort() + " " + destination.getPort()
                + "\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** A TLV: type, 16-bit length, value. */
    static byte[] tlv(int type, byte[] value) {
        return TlsHellos.concat(new byte[] {(byte) type}, TlsHellos.u16(value.length), value);
    }

    /** A v2 PROXY command over TCP, with the given TLVs after the addresses. */
    static byte[] v2(InetSocketAddress source, InetSocketAddress destination, byte[]... tlvs) {
        boolean ipv4 = source.getAddress() instanceof Inet4Address;
        ByteArrayOutputStream block = new ByteArrayOutputStream();
        block.writeBytes(source.getAddress().getAddress());
        block.writeBytes(destination.getAddress().getAddress());
        block.writeBytes(TlsHellos.u16(source.getPort()));
        block.writeBytes(TlsHellos.u16(destination.getPort()));
        for (byte[] tlv : tlvs) {
            block.writeBytes(tlv);
        }
        return v2Raw(0x21, (ipv4 ? AF_INET : AF_INET6) << 4 | STREAM, block.toByteArray());
    }

    static byte[] v2Raw(int versionCommand, int familyTransport, byte[] block) {
        return TlsHellos.concat(ProxyHeader.V2_SIGNATURE, new byte[] {(byte) versionCommand, (byte) familyTransport},
                TlsHellos.u16(block.length), block);
    }

    /** Like {@link #v2} with a CRC32C TLV last, filled in as section 2.2.5 says. */
    static byte[] v2WithCrc(InetSocketAddress source, InetSocketAddress destination, byte[]... tlvs) {
        byte[][] withCrc = java.util.Arrays.copyOf(tlvs, tlvs.length + 1);
        withCrc[tlvs.length] = tlv(0x03, new byte[4]);
        byte[] header = v2(source, destination, withCrc);
        CRC32C crc = new CRC32C();
        crc.update(header);
        long value = crc.getValue();
        int at = header.length - 4;
        header[at] = (byte) (value >> 24);
        header[at + 1] = (byte) (value >> 16);
        header[at + 2] = (byte) (value >> 8);
        header[at + 3] = (byte) value;
        return header;
    }
}
