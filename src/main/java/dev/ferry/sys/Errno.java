package dev.ferry.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Names for the errno values Ferry is likely to meet, and the FFM plumbing to read errno
 * right after a native call (the JVM itself may clobber errno before Java code runs again).
 */
public final class Errno {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EAGAIN = 11;
    public static final int EEXIST = 17;
    public static final int ELIBACC = 79;

    /** Pass as the {@link Linker.Option} of every downcall whose failure is reported through errno. */
    public static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");
    /** Size and alignment of the segment a capturing downcall takes as its first argument. */
    public static final MemoryLayout CALL_STATE = Linker.Option.captureStateLayout();

    private static final VarHandle ERRNO =
            CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    /** One call-state segment per thread, for the hot-path downcalls that run millions of times. */
    private static final ThreadLocal<MemorySegment> THREAD_CALL_STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE));

    /** This thread's call-state segment, for downcalls whose failure is an ordinary answer. */
    static MemorySegment threadCallState() {
        return THREAD_CALL_STATE.get();
    }

    /** A downcall's result, or the errno it captured in {@code state}, negated, when it failed. */
    static long resultOrNegatedErrno(long result, MemorySegment state) {
        return result < 0 ? -captured(state) : result;
    }

    private enum Known {
        EPERM(1, "Operation not permitted"),
        ENOENT(2, "No such file or directory"),
        ESRCH(3, "No such process"),
        EINTR(4, "Interrupted system call"),
        EIO(5, "Input/output error"),
        E2BIG(7, "Argument list too long"),
        EBADF(9, "Bad file descriptor"),
        EAGAIN(11, "Resource temporarily unavailable"),
        ENOMEM(12, "Cannot allocate memory"),
        EACCES(13, "Permission denied"),
        EFAULT(14, "Bad address"),
        EBUSY(16, "Device or resource busy"),
        EEXIST(17, "File exists"),
        ENODEV(19, "No such device"),
        EINVAL(22, "Invalid argument"),
        EMFILE(24, "Too many open files"),
        ENOSPC(28, "No space left on device"),
        ERANGE(34, "Numerical result out of range"),
        ENOSYS(38, "Function not implemented"),
        ELIBACC(79, "Can not access a needed shared library"),
        ENOTSOCK(88, "Socket operation on non-socket"),
        EPROTONOSUPPORT(93, "Protocol not supported"),
        EOPNOTSUPP(95, "Operation not supported"),
        EAFNOSUPPORT(97, "Address family not supported by protocol"),
        EADDRINUSE(98, "Address already in use"),
        EADDRNOTAVAIL(99, "Cannot assign requested address"),
        ECONNRESET(104, "Connection reset by peer"),
        ENOTCONN(107, "Transport endpoint is not connected"),
        ETIMEDOUT(110, "Connection timed out"),
        ECONNREFUSED(111, "Connection refused"),
        // Kernel-internal, but the bpf() syscall is known to leak it to user space.
        ENOTSUPP(524, "Operation is not supported");

        final int code;
        final String description;

        Known(int code, String description) {
            this.code = code;
            this.description = description;
        }
    }

    private static final Map<Integer, Known> BY_CODE =
            Arrays.stream(Known.values()).collect(Collectors.toUnmodifiableMap(k -> k.code, Function.identity()));

    private Errno() {}

    /** "EPERM", or "errno 123" for values outside the table. */
    public static String name(int errno) {
        Known known = BY_CODE.get(errno);
        return known != null ? known.name() : "errno " + errno;
    }

    /** strerror-like text, or "" when unknown. */
    public static String description(int errno) {
        Known known = BY_CODE.get(errno);
        return known != null ? known.description : "";
    }

    /** "EPERM (Operation not permitted)". */
    public static String describe(int errno) {
        String description = description(errno);
        return description.isEmpty() ? name(errno) : name(errno) + " (" + description + ")";
    }

    /** errno as captured by a downcall linked with {@link #CAPTURE}. */
    public static int captured(MemorySegment callState) {
        return (int) ERRNO.get(callState, 0L);
    }
}
