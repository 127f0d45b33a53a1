package dev.ferry.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Non-blocking recv(2) and send(2) on a socket, for the bytes the sockmap plane moves itself.
 * Like {@link Splice#splice}, failures are a negative errno, because EAGAIN is an ordinary answer.
 */
public final class SocketIo {
    /** Look at queued bytes without consuming them. */
    public static final int MSG_PEEK = 0x2;
    private static final int MSG_DONTWAIT = 0x40;
    /** A peer that reset must not kill the process with SIGPIPE (the JVM ignores it, but be explicit). */
    private static final int MSG_NOSIGNAL = 0x4000;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle RECV = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("recv"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), Errno.CAPTURE);
    private static final MethodHandle SEND = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("send"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), Errno.CAPTURE);


    private SocketIo() {}

    /**
     * One non-blocking recv into {@code buffer}; {@code flags} may add {@link #MSG_PEEK}.
     *
     * @return the bytes received (0: end of stream), or a negative errno
     */
    public static long receive(int fd, MemorySegment buffer, int flags) {
        return call(RECV, "recv", fd, buffer, flags | MSG_DONTWAIT);
    }

    /**
     * One non-blocking send of {@code data}.
     *
     * @return the bytes the kernel took, possibly fewer than offered, or a negative errno
     */
    public static long send(int fd, MemorySegment data) {
        return call(SEND, "send", fd, data, MSG_DONTWAIT | MSG_NOSIGNAL);
    }

    /** recv and send share one signature: (fd, buffer, length, flags) to a byte count or -1. */
    private static long call(MethodHandle function, String name, int fd, MemorySegment bytes, int flags) {
        MemorySegment state = Errno.threadCallState();
        long result;
        try {
            result = (long) function.invokeExact(state, fd, bytes, bytes.byteSize(), flags);
        } catch (Throwable t) {
            throw new AssertionError(name + " downcall threw", t);
        }
        return Errno.resultOrNegatedErrno(result, state);
    }
}
