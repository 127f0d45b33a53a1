package dev.ferry.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * Sends, on behalf of a connected loopback client socket, the segment a sender that re-packetizes
 * its retransmissions would send: starting before bytes the receiver already has and carrying
 * new ones after them. The client's own TCP knows nothing of it.
 *
 * <p>The client's sequence numbers are read in TCP repair mode (TCP_REPAIR, CAP_NET_ADMIN); the
 * segment goes out on a raw IPv4 socket (CAP_NET_RAW), with a timestamp option so that PAWS
 * takes it.
 */
public final class OverlappingSegment {
    private static final int SOCK_RAW = 3;
    private static final int TCP_REPAIR = 19, TCP_REPAIR_QUEUE = 20, TCP_QUEUE_SEQ = 21, TCP_TIMESTAMP = 24;
    private static final int TCP_RECV_QUEUE = 1, TCP_SEND_QUEUE = 2;
    private static final int HEADER_BYTES = 32;  // 20 + NOP, NOP, timestamps (10)
    private static final int ACK_PSH = 0x18;

    private OverlappingSegment() {}

    /**
     * Sends {@code old} (the last bytes the client wrote, which the receiver has) followed by
     * {@code fresh} (bytes the client has not written yet) from the client's socket {@code fd} to
     * {@code port} on 127.0.0.1, as one segment that starts {@code old.length} bytes before the
     * client's next sequence number.
     */
    public static void send(int fd, int port, byte[] old, byte[] fresh) throws IOException {
        Libc.setsockopt(fd, Libc.IPPROTO_TCP, TCP_REPAIR, 1, "TCP_REPAIR (needs CAP_NET_ADMIN)");
        int nextToSend;
        int nextToReceive;
        int timestamp;
        try {
            Libc.setsockopt(fd, Libc.IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE, "TCP_REPAIR_QUEUE");
            nextToSend = tcpInt(fd, TCP_QUEUE_SEQ, "TCP_QUEUE_SEQ");
            Libc.setsockopt(fd, Libc.IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE, "TCP_REPAIR_QUEUE");
            nextToReceive = tcpInt(fd, TCP_QUEUE_SEQ, "TCP_QUEUE_SEQ");
            timestamp = tcpInt(fd, TCP_TIMESTAMP, "TCP_TIMESTAMP");
        } finally {
            Libc.setsockopt(fd, Libc.IPPROTO_TCP, TCP_REPAIR, 0, "TCP_REPAIR");
        }
        byte[] payload = new byte[old.length + fresh.length];
        System.arraycopy(old, 0, payload, 0, old.length);
        System.arraycopy(fresh, 0, payload, old.length, fresh.length);
        byte[] segment = segment(localPort(fd), port, nextToSend - old.length, nextToReceive, timestamp, payload);
        sendRaw(segment);
    }

    private static byte[] segment(int sourcePort, int destinationPort, int seq, int ack, int timestamp, byte[] payload) {
        ByteBuffer tcp = ByteBuffer.allocate(HEADER_BYTES + payload.length);
        tcp.putShort((short) sourcePort).putShort((short) destinationPort).putInt(seq).putInt(ack);
        tcp.put((byte) ((HEADER_BYTES / 4) << 4)).put((byte) ACK_PSH).putShort((short) 0xffff);
        tcp.putShort((short) 0).putShort((short) 0);  // checksum (below), urgent pointer
        tcp.put((byte) 1).put((byte) 1).put((byte) 8).put((byte) 10).putInt(timestamp).putInt(0);
        tcp.put(payload);
        byte[] bytes = tcp.array();
        int checksum = checksum(bytes);
        bytes[16] = (byte) (checksum >>> 8);
        bytes[17] = (byte) checksum;
        return bytes;
    }

    /** The TCP checksum over the IPv4 pseudo header (127.0.0.1 to 127.0.0.1) and the segment. */
    private static int checksum(byte[] segment) {
        long sum = 0x7f00 + 0x0001 + 0x7f00 + 0x0001 + Libc.IPPROTO_TCP + segment.length;
        for (int i = 0; i < segment.length; i += 2) {
            int high = segment[i] & 0xff;
            int low = i + 1 < segment.length ? segment[i + 1] & 0xff : 0;
            sum += (high << 8) | low;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) ~sum & 0xffff;
    }

    /** A raw socket connected to 127.0.0.1 sends each write as one IP packet carrying it. */
    private static void sendRaw(byte[] segment) throws IOException {
        int raw = Libc.socket(Libc.AF_INET, SOCK_RAW | Libc.SOCK_CLOEXEC, Libc.IPPROTO_TCP);
        try (Arena arena = Arena.ofConfined()) {
            Libc.connect(raw, InetSockets.loopback(arena, 0));
            long sent = Libc.write(raw, arena.allocateFrom(JAVA_BYTE, segment));
            if (sent != segment.length) {
                throw new IOException("a raw socket sent " + sent + " of " + segment.length + " bytes");
            }
        } finally {
            Libc.close(raw);
        }
    }

    private static int localPort(int fd) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = InetSockets.loopback(arena, 0);
            Libc.getsockname(fd, address);
            return InetSockets.port(address);
        }
    }

    private static int tcpInt(int fd, int option, String what) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_INT);
            Libc.getsockopt(fd, Libc.IPPROTO_TCP, option, value, what);
            return value.get(JAVA_INT, 0);
        }
    }
}
