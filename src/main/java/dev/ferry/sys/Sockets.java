package dev.ferry.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Socket options and ioctls the JDK does not expose, on any socket fd (Netty's included).
 * Nothing here takes ownership of or closes the fd.
 */
public final class Sockets {
    private static final int SO_RCVBUF = 8;
    private static final int SO_RCVBUFFORCE = 33;
    private static final int SO_RCVLOWAT = 18;
    private static final int SO_BUF_LOCK = 72;
    private static final int SOCK_RCVBUF_LOCK = 2;
    private static final int SO_COOKIE = 57;
    private static final int TCP_INFO = 11;
    private static final int TCP_NOTSENT_LOWAT = 25;
    private static final long SIOCOUTQ = 0x5411;  // = TIOCOUTQ
    private static final long FIONREAD = 0x541B;

    // Offsets in struct tcp_info, checked against /usr/include/linux/tcp.h (sizeof = 232 on 6.18).
    private static final long TCPI_STATE = 0;
    private static final long TCPI_BYTES_ACKED = 120;
    private static final long TCPI_BYTES_RECEIVED = 128;
    private static final long TCPI_NOTSENT_BYTES = 144;
    private static final long TCPI_BYTES_SENT = 200;
    private static final long TCPI_BYTES_RETRANS = 208;
    private static final int TCP_INFO_SIZE = 232;
    private static final int TCP_INFO_MIN_SIZE = (int) TCPI_BYTES_RETRANS + 8;  // kernel 5.5 and later

    private Sockets() {}

    /** The kernel's unique, never-reused id of the socket (SO_COOKIE); the key of Ferry's maps. */
    public static long cookie(int fd) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cookie = arena.allocate(JAVA_LONG);
            Libc.getsockopt(fd, Libc.SOL_SOCKET, SO_COOKIE, cookie, "SO_COOKIE");
            return cookie.get(JAVA_LONG, 0);
        }
    }

    /**
     * Sets SO_RCVLOWAT. Setting it also makes the kernel re-run the socket's data-ready callback,
     * which is what makes a sockmap verdict program process bytes queued before insertion.
     */
    public static void setReceiveLowWatermark(int fd, int bytes) throws IOException {
        Libc.setsockopt(fd, Libc.SOL_SOCKET, SO_RCVLOWAT, bytes, "SO_RCVLOWAT");
    }

    /**
     * Sets TCP_NOTSENT_LOWAT: the send queue then takes more bytes, and the socket polls writable,
     * only while fewer than {@code bytes} of it wait unsent. 0 restores the system's default
     * (net.ipv4.tcp_notsent_lowat).
     */
    public static void setUnsentLowWatermark(int fd, int bytes) throws IOException {
        Libc.setsockopt(fd, Libc.IPPROTO_TCP, TCP_NOTSENT_LOWAT, bytes, "TCP_NOTSENT_LOWAT");
    }

    /**
     * Whether the receive buffer's size was set (SO_RCVBUF or SO_RCVBUFFORCE), which stops TCP's
     * autotuning of it; read with SO_BUF_LOCK (Linux 5.14).
     */
    public static boolean receiveBufferFixed(int fd) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_INT);
            Libc.getsockopt(fd, Libc.SOL_SOCKET, SO_BUF_LOCK, value, "SO_BUF_LOCK");
            return (value.get(JAVA_INT, 0) & SOCK_RCVBUF_LOCK) != 0;
        }
    }

    /** The receive buffer's size as the kernel keeps it (SO_RCVBUF: twice what was set, as {@code ss} shows it). */
    public static int receiveBuffer(int fd) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_INT);
            Libc.getsockopt(fd, Libc.SOL_SOCKET, SO_RCVBUF, value, "SO_RCVBUF");
            return value.get(JAVA_INT, 0);
        }
    }

    /**
     * Sets the receive buffer to {@code bytes} as the kernel keeps it, the size {@link #receiveBuffer} reads
     * back, and stops autotuning this socket's buffer. SO_RCVBUFFORCE (beyond net.core.rmem_max; needs
     * CAP_NET_ADMIN, which the sockmap plane has anyway) is given half: the kernel doubles it for its
     * bookkeeping.
     */
    public static void setReceiveBuffer(int fd, int bytes) throws IOException {
        Libc.setsockopt(fd, Libc.SOL_SOCKET, SO_RCVBUFFORCE, bytes / 2, "SO_RCVBUFFORCE");
    }

    public static TcpInfo tcpInfo(int fd) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = arena.allocate(TCP_INFO_SIZE, 8);
            int length = Libc.getsockopt(fd, Libc.IPPROTO_TCP, TCP_INFO, info, "TCP_INFO");
            if (length < TCP_INFO_MIN_SIZE) {
                // An older kernel fills a shorter struct; the zeroes there would look like real counts.
                throw new IOException("getsockopt TCP_INFO returned " + length + " bytes, need "
                        + TCP_INFO_MIN_SIZE + " (kernel too old)");
            }
            return new TcpInfo(
                    Byte.toUnsignedInt(info.get(JAVA_BYTE, TCPI_STATE)),
                    info.get(JAVA_LONG, TCPI_BYTES_ACKED),
                    info.get(JAVA_LONG, TCPI_BYTES_RECEIVED),
                    info.get(JAVA_LONG, TCPI_BYTES_SENT),
                    info.get(JAVA_LONG, TCPI_BYTES_RETRANS),
                    info.get(JAVA_INT, TCPI_NOTSENT_BYTES));
        }
    }

    /** Bytes written but not yet acked by the peer, unsent ones included (SIOCOUTQ). */
    public static int unsentAndUnacked(int fd) throws IOException {
        return Libc.ioctlInt(fd, SIOCOUTQ, "SIOCOUTQ");
    }

    /** Bytes ready to read (FIONREAD). Unreliable for sockets in a sockmap without a verdict program. */
    public static int unread(int fd) throws IOException {
        return Libc.ioctlInt(fd, FIONREAD, "FIONREAD");
    }
}
