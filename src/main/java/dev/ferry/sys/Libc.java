package dev.ferry.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** The few libc socket calls Ferry needs; every failure becomes an IOException naming call and errno. */
final class Libc {
    static final int AF_INET = 2;
    static final int SOCK_STREAM = 1;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int SOL_SOCKET = 1;
    static final int IPPROTO_TCP = 6;

    private static final Linker LINKER = Linker.nativeLinker();

    private static final MethodHandle SOCKET = capturing("socket", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle BIND = capturing("bind", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle LISTEN = capturing("listen", JAVA_INT, JAVA_INT, JAVA_INT);
    private static final MethodHandle CONNECT = capturing("connect", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle ACCEPT4 = capturing("accept4", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT);
    private static final MethodHandle GETSOCKNAME = capturing("getsockname", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle GETSOCKOPT =
            capturing("getsockopt", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
    private static final MethodHandle SETSOCKOPT =
            capturing("setsockopt", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    private static final MethodHandle WRITE = capturing("write", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
    private static final MethodHandle CLOSE = capturing("close", JAVA_INT, JAVA_INT);
    // ioctl is variadic: the linker must know where the fixed arguments end.
    private static final MethodHandle IOCTL = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("ioctl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
            Errno.CAPTURE, Linker.Option.firstVariadicArg(2));

    private Libc() {}

    static int socket(int domain, int type, int protocol) throws IOException {
        return (int) call("socket", state -> (int) SOCKET.invokeExact(state, domain, type, protocol));
    }

    static void bind(int fd, MemorySegment address) throws IOException {
        call("bind", state -> (int) BIND.invokeExact(state, fd, address, (int) address.byteSize()));
    }

    static void listen(int fd, int backlog) throws IOException {
        call("listen", state -> (int) LISTEN.invokeExact(state, fd, backlog));
    }

    static void connect(int fd, MemorySegment address) throws IOException {
        call("connect", state -> (int) CONNECT.invokeExact(state, fd, address, (int) address.byteSize()));
    }

    /** Blocking accept4 that does not want the peer address; returns the new fd. */
    static int accept(int fd, int flags) throws IOException {
        return (int) call("accept4",
                state -> (int) ACCEPT4.invokeExact(state, fd, MemorySegment.NULL, MemorySegment.NULL, flags));
    }

    /** Fills {@code address}, whose size is the buffer length passed to the kernel. */
    static void getsockname(int fd, MemorySegment address) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment length = arena.allocateFrom(JAVA_INT, (int) address.byteSize());
            call("getsockname", arena, state -> (int) GETSOCKNAME.invokeExact(state, fd, address, length));
        }
    }

    /** Fills {@code value}; returns the length the kernel wrote. */
    static int getsockopt(int fd, int level, int name, MemorySegment value, String what) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment length = arena.allocateFrom(JAVA_INT, (int) value.byteSize());
            call("getsockopt " + what, arena,
                    state -> (int) GETSOCKOPT.invokeExact(state, fd, level, name, value, length));
            return length.get(JAVA_INT, 0);
        }
    }

    static void setsockopt(int fd, int level, int name, int value, String what) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment option = arena.allocateFrom(JAVA_INT, value);
            call("setsockopt " + what, arena,
                    state -> (int) SETSOCKOPT.invokeExact(state, fd, level, name, option, (int) option.byteSize()));
        }
    }

    /** An ioctl whose argument is an int the kernel fills in. */
    static int ioctlInt(int fd, long request, String what) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment result = arena.allocate(JAVA_INT);
            call("ioctl " + what, arena, state -> (int) IOCTL.invokeExact(state, fd, request, result));
            return result.get(JAVA_INT, 0);
        }
    }

    /** One write(2); returns how many bytes the kernel took, which may be fewer than offered. */
    static long write(int fd, MemorySegment data) throws IOException {
        return call("write", state -> (long) WRITE.invokeExact(state, fd, data, data.byteSize()));
    }

    static void close(int fd) throws IOException {
        call("close", state -> (int) CLOSE.invokeExact(state, fd));
    }

    @FunctionalInterface
    private interface Downcall {
        long invoke(MemorySegment callState) throws Throwable;
    }

    private static long call(String call, Downcall downcall) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            return call(call, arena, downcall);
        }
    }

    /** Runs a downcall linked with {@link Errno#CAPTURE}; a negative result becomes an IOException. */
    private static long call(String call, Arena arena, Downcall downcall) throws IOException {
        MemorySegment state = arena.allocate(Errno.CALL_STATE);
        long result;
        try {
            result = downcall.invoke(state);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("a downcall threw a checked exception", t);
        }
        if (result < 0) {
            throw new IOException(call + " failed: " + Errno.describe(Errno.captured(state)));
        }
        return result;
    }

    private static MethodHandle capturing(String name, MemoryLayout result, MemoryLayout... arguments) {
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name),
                FunctionDescriptor.of(result, arguments), Errno.CAPTURE);
    }
}
