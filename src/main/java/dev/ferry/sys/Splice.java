package dev.ferry.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * splice(2) and the pipe and descriptor calls around it, for the splice data plane and its probe.
 *
 * <p>{@link #splice} is the hot path: it reports failure as a negative errno instead of throwing,
 * because EAGAIN is an ordinary answer there, and it reuses one call-state segment per thread.
 */
public final class Splice {
    /** Do not block on the pipe (the sockets are non-blocking by themselves). */
    public static final int SPLICE_F_MOVE = 1;
    public static final int SPLICE_F_NONBLOCK = 2;

    private static final int O_NONBLOCK = 0x800;
    private static final int O_CLOEXEC = 0x80000;
    private static final int F_GETFL = 3;
    private static final int F_SETFL = 4;
    private static final int F_DUPFD_CLOEXEC = 1030;
    private static final int F_SETPIPE_SZ = 1031;
    private static final int F_GETPIPE_SZ = 1032;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SPLICE = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("splice"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT),
            Errno.CAPTURE);
    private static final MethodHandle PIPE2 = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("pipe2"),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), Errno.CAPTURE);
    // fcntl is variadic: the linker must know where the fixed arguments end.
    private static final MethodHandle FCNTL = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("fcntl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), Errno.CAPTURE,
            Linker.Option.firstVariadicArg(2));

    private Splice() {}

    /**
     * One splice(2) from {@code in} to {@code out}, at most {@code length} bytes.
     *
     * @return the bytes moved (0: end of input), or a negative errno ({@code -Errno.EAGAIN}: would block)
     */
    public static long splice(int in, int out, long length, int flags) {
        MemorySegment state = Errno.threadCallState();
        long result;
        try {
            result = (long) SPLICE.invokeExact(state, in, MemorySegment.NULL, out, MemorySegment.NULL, length, flags);
        } catch (Throwable t) {
            throw new AssertionError("splice downcall threw", t);
        }
        return Errno.resultOrNegatedErrno(result, state);
    }

    /** A non-blocking, close-on-exec pipe: {read end, write end}. */
    public static int[] pipe() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(JAVA_INT, 2);
            MemorySegment state = arena.allocate(Errno.CALL_STATE);
            int result;
            try {
                result = (int) PIPE2.invokeExact(state, fds, O_NONBLOCK | O_CLOEXEC);
            } catch (Throwable t) {
                throw new AssertionError("pipe2 downcall threw", t);
            }
            if (result < 0) {
                throw new IOException("pipe2 failed: " + Errno.describe(Errno.captured(state)));
            }
            return new int[] {fds.getAtIndex(JAVA_INT, 0), fds.getAtIndex(JAVA_INT, 1)};
        }
    }

    /**
     * Asks for a pipe capacity of at least {@code bytes} (F_SETPIPE_SZ; the kernel rounds up to a
     * power of two pages) and returns the capacity the pipe has afterwards.
     */
    public static int setPipeSize(int fd, int bytes) throws IOException {
        return fcntl(fd, F_SETPIPE_SZ, bytes, "F_SETPIPE_SZ");
    }

    public static int pipeSize(int fd) throws IOException {
        return fcntl(fd, F_GETPIPE_SZ, 0, "F_GETPIPE_SZ");
    }

    /** A second, close-on-exec descriptor for the same open file (the same socket). */
    public static int duplicate(int fd) throws IOException {
        return fcntl(fd, F_DUPFD_CLOEXEC, 0, "F_DUPFD_CLOEXEC");
    }

    public static void setNonBlocking(int fd) throws IOException {
        int flags = fcntl(fd, F_GETFL, 0, "F_GETFL");
        fcntl(fd, F_SETFL, flags | O_NONBLOCK, "F_SETFL");
    }

    public static void close(int fd) throws IOException {
        Libc.close(fd);
    }

    private static int fcntl(int fd, int command, int argument, String what) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(Errno.CALL_STATE);
            int result;
            try {
                result = (int) FCNTL.invokeExact(state, fd, command, argument);
            } catch (Throwable t) {
                throw new AssertionError("fcntl downcall threw", t);
            }
            if (result < 0) {
                throw new IOException("fcntl " + what + " failed: " + Errno.describe(Errno.captured(state)));
            }
            return result;
        }
    }
}
