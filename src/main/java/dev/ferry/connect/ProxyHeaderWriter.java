package dev.ferry.connect;

import dev.ferry.config.ProxyProtocol;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;

/**
 * The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that tells a backend the real
 * client: source is the client, destination the address the client connected to. When one side is IPv4 and
 * the other IPv6, the IPv4 one is written as an IPv4-mapped IPv6 address, so both are of one family.
 */
public final class ProxyHeaderWriter {
    static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    private static final int V2_PROXY_COMMAND = 0x21;
    private static final int V2_TCP4 = 0x11;
    private static final int V2_TCP6 = 0x21;

    private ProxyHeaderWriter() {
    }

    public static ByteBuf encode(ProxyProtocol version, InetSocketAddress source, InetSocketAddress destination,
                                 ByteBufAllocator alloc) {
        InetAddress from = source.getAddress();
        InetAddress to = destination.getAddress();
        boolean ipv4 = from instanceof Inet4Address && to instanceof Inet4Address;
        if (!ipv4) {
            from = asIpv6(from);
            to = asIpv6(to);
        }
        return switch (version) {
            case V1 -> {
                String line = "PROXY " + (ipv4 ? "TCP4 " : "TCP6 ") + text(from) + " " + text(to) + " "
                        + source.getPort() + " " + destination.getPort() + "\r\n";
                byte[] bytes = line.getBytes(StandardCharsets.US_ASCII);
                yield alloc.buffer(bytes.length).writeBytes(bytes);
            }
            case V2 -> {
                int addressLength = ipv4 ? 12 : 36;
                ByteBuf header = alloc.buffer(16 + addressLength);
                header.writeBytes(V2_SIGNATURE);
                header.writeByte(V2_PROXY_COMMAND);
                header.writeByte(ipv4 ? V2_TCP4 : V2_TCP6);
                header.writeShort(addressLength);
                header.writeBytes(from.getAddress());
                header.writeBytes(to.getAddress());
                header.writeShort(source.getPort());
                header.writeShort(destination.getPort());
                yield header;
            }
        };
    }

    private static String text(InetAddress address) {
        String host = address.getHostAddress();
        int scope = host.indexOf('%');
        return scope < 0 ? host : host.substring(0, scope);
    }

    private static InetAddress asIpv6(InetAddress address) {
        if (!(address instanceof Inet4Address)) {
            return address;
        }
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        System.arraycopy(address.getAddress(), 0, mapped, 12, 4);
        try {
            // getByAddress would turn a mapped address back into an Inet4Address.
            return java.net.Inet6Address.getByAddress(null, mapped, -1);
        } catch (UnknownHostException impossible) {
            throw new IllegalStateException(impossible);
        }
    }
}
