package dev.ferry.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** The disposition of a signal, for the one case the JVM's own signal API cannot handle. */
public final class Signals {
    public static final int SIGHUP = 1;
    /** glibc's struct sigaction on x86_64 and aarch64 is at most this big; its handler comes first. */
    private static final long SIGACTION_SIZE = 256;
    private static final long SIG_IGN = 1;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SIGACTION = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("sigaction"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SIGNAL = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("signal"),
            FunctionDescriptor.of(ADDRESS, JAVA_INT, ADDRESS));

    private Signals() {}

    /**
     * A process started under {@code nohup} inherits {@code signal} ignored, and the JVM then
     * accepts a handler for it without ever calling it. This puts back the default disposition so
     * that a handler registered next is called; returns whether the signal had been ignored.
     */
    public static boolean stopIgnoring(int signal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment current = arena.allocate(SIGACTION_SIZE);
            if ((int) SIGACTION.invokeExact(signal, MemorySegment.NULL, current) != 0
                    || current.get(JAVA_LONG, 0) != SIG_IGN) {
                return false;
            }
            MemorySegment previous = (MemorySegment) SIGNAL.invokeExact(signal, MemorySegment.NULL);
            return previous.address() == SIG_IGN;
        } catch (Throwable t) {
            throw new AssertionError("signal downcall threw", t);
        }
    }
}
