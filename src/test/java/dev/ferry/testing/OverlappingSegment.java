package dev.ferry.testing;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
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
    private static final int AF_INET = 2, SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000, IPPROTO_TCP = 6;
    private static final int TCP_REPAIR = 19, TCP_REPAIR_QUEUE = 20, TCP_QUEUE_SEQ = 21, TCP_TIMESTAMP = 24;
    private static final int TCP_RECV_QUEUE = 1, TCP_SEND_QUEUE = 2;
    private static final int HEADER_BYTES = 32;  // 20 + NOP, NOP, timestamps (10)
    private static final int ACK_PSH = 0x18;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MemoryLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle SOCKET = libc("socket", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle SETSOCKOPT =
            libc("setsockopt", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle GETSOCKOPT =
            libc("getsockopt", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle GETSOCKNAME = libc("getsockname", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle SENDTO =
            libc("sendto", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle CLOSE = libc("close", JAVA_INT, JAVA_INT);

    private OverlappingSegment() {}

    /**
     * Sends {@code old} (the last bytes the client wrote, which the receiver has) followed by
     * {@code fresh} (bytes the client has not written yet) from the client's socket {@code fd} to
     * {@code port} on 127.0.0.1, as one segment that starts {@code old.length} bytes before the
     * client's next sequence number.
     */
    public static void send(int fd, int port, byte[] old, byte[] fresh) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            setInt(arena, fd, TCP_REPAIR, 1);
            int nextToSend;
            int nextToReceive;
            int timestamp;
            try {
                setInt(arena, fd, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE);
                nextToSend = getInt(arena, fd, TCP_QUEUE_SEQ);
                setInt(arena, fd, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE);
                nextToReceive = getInt(arena, fd, TCP_QUEUE_SEQ);
                timestamp = getInt(arena, fd, TCP_TIMESTAMP);
            } finally {
                setInt(arena, fd, TCP_REPAIR, 0);
            }
            byte[] payload = new byte[old.length + fresh.length];
            System.arraycopy(old, 0, payload, 0, old.length);
            System.arraycopy(fresh, 0, payload, old.length, fresh.length);
            byte[] segment = segment(localPort(arena, fd), port, nextToSend - old.length, nextToReceive, timestamp, payload);
            sendRaw(arena, segment);
        }
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
        long sum = 0x7f00 + 0x0001 + 0x7f00 + 0x0001 + IPPROTO_TCP + segment.length;
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

    private static void sendRaw(Arena arena, byte[] segment) throws IOException {
        MemorySegment state = arena.allocate(CAPTURE);
        int raw = (int) call(() -> (int) SOCKET.invokeExact(state, AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP));
        check("socket(AF_INET, SOCK_RAW, IPPROTO_TCP)", raw, state);
        try {
            MemorySegment to = arena.allocate(16);
            to.set(JAVA_BYTE, 0, (byte) AF_INET);
            to.setAtIndex(JAVA_BYTE, 4, (byte) 127);
            to.setAtIndex(JAVA_BYTE, 7, (byte) 1);
            MemorySegment data = arena.allocateFrom(JAVA_BYTE, segment);
            long sent = (long) call(() -> (long) SENDTO.invokeExact(state, raw, data, (long) segment.length, 0, to, 16));
            check("sendto on a raw socket", sent, state);
            if (sent != segment.length) {
                throw new IOException("sendto on a raw socket sent " + sent + " of " + segment.length + " bytes");
            }
        } finally {
            call(() -> (int) CLOSE.invokeExact(state, raw));
        }
    }

    private static int localPort(Arena arena, int fd) throws IOException {
        MemorySegment state = arena.allocate(CAPTURE);
        MemorySegment address = arena.allocate(16);
        MemorySegment length = arena.allocateFrom(JAVA_INT, 16);
        check("getsockname", (int) call(() -> (int) GETSOCKNAME.invokeExact(state, fd, address, length)), state);
        return ((address.get(JAVA_BYTE, 2) & 0xff) << 8) | (address.get(JAVA_BYTE, 3) & 0xff);
    }

    private static void setInt(Arena arena, int fd, int option, int value) throws IOException {
        MemorySegment state = arena.allocate(CAPTURE);
        MemorySegment cell = arena.allocateFrom(JAVA_INT, value);
        int result = (int) call(() -> (int) SETSOCKOPT.invokeExact(state, fd, IPPROTO_TCP, option, cell, 4));
        check("setsockopt " + option, result, state);
    }

    private static int getInt(Arena arena, int fd, int option) throws IOException {
        MemorySegment state = arena.allocate(CAPTURE);
        MemorySegment cell = arena.allocate(JAVA_INT);
        MemorySegment length = arena.allocateFrom(JAVA_INT, 4);
        int result = (int) call(() -> (int) GETSOCKOPT.invokeExact(state, fd, IPPROTO_TCP, option, cell, length));
        check("getsockopt " + option, result, state);
        return cell.get(JAVA_INT, 0);
    }

    private static void check(String what, long result, MemorySegment state) throws IOException {
        if (result < 0) {
            throw new IOException(what + " failed: errno " + (int) ERRNO.get(state, 0L)
                    + " (TCP_REPAIR needs CAP_NET_ADMIN, a raw socket CAP_NET_RAW)");
        }
    }

    @FunctionalInterface
    private interface Call {
        Object invoke() throws Throwable;
    }

    private static Object call(Call call) {
        try {
            return call.invoke();
        } catch (Throwable e) {
            throw new IllegalStateException("native call failed", e);
        }
    }

    private static MethodHandle libc(String name, MemoryLayout result, MemoryLayout... arguments) {
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), FunctionDescriptor.of(result, arguments),
                Linker.Option.captureCallState("errno"));
    }
}
