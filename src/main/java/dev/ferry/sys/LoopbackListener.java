package dev.ferry.sys;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** A blocking TCP listener on 127.0.0.1 and an ephemeral port, whose accepted sockets come with their fds. */
public final class LoopbackListener implements AutoCloseable {
    private final SocketFd socket;
    private final int port;

    private LoopbackListener(SocketFd socket, int port) {
        this.socket = socket;
        this.port = port;
    }

    public static LoopbackListener open() throws IOException {
        SocketFd socket = new SocketFd(Libc.socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0));
        try (Arena arena = Arena.ofConfined()) {
            Libc.bind(socket.value(), InetSockets.loopback(arena, 0));
            Libc.listen(socket.value(), 16);
            MemorySegment bound = InetSockets.loopback(arena, 0);
            Libc.getsockname(socket.value(), bound);
            return new LoopbackListener(socket, InetSockets.port(bound));
        } catch (IOException | RuntimeException e) {
            socket.closeQuietly(e);
            throw e;
        }
    }

    public int port() {
        return port;
    }

    /** Waits for the next connection; the caller owns the returned socket. */
    public SocketFd accept() throws IOException {
        return new SocketFd(Libc.accept(socket.value(), Libc.SOCK_CLOEXEC));
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
