package dev.ferry.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A blocking TCP socket fd owned by Java code, for probes and tests that need a socket's fd
 * (the JDK's sockets hide theirs). Closing it closes the fd, once.
 */
public final class SocketFd implements AutoCloseable {
    private final int fd;
    private final AtomicBoolean closed = new AtomicBoolean();

    SocketFd(int fd) {
        this.fd = fd;
    }

    /** Connects to 127.0.0.1:port. */
    public static SocketFd connectLoopback(int port) throws IOException {
        SocketFd socket = new SocketFd(Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0));
        try (Arena arena = Arena.ofConfined()) {
            Libc.connect(socket.fd, InetSockets.loopback(arena, port));
            return socket;
        } catch (IOException | RuntimeException e) {
            socket.closeQuietly(e);
            throw e;
        }
    }

    public int value() {
        if (closed.get()) {
            throw new IllegalStateException("fd " + fd + " is closed");
        }
        return fd;
    }

    /** Writes all of {@code data}, blocking while the send buffer is full. */
    public void write(byte[] data) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocateFrom(JAVA_BYTE, data);
            long offset = 0;
            while (offset < data.length) {
                offset += Libc.write(value(), buffer.asSlice(offset));
            }
        }
    }

    @Override
    public void close() throws IOException {
        if (closed.compareAndSet(false, true)) {
            Libc.close(fd);
        }
    }

    void closeQuietly(Exception cause) {
        try {
            close();
        } catch (IOException e) {
            cause.addSuppressed(e);
        }
    }

    @Override
    public String toString() {
        return "SocketFd[" + fd + (closed.get() ? ", closed]" : "]");
    }
}
