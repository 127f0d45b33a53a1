package dev.ferry.bpf;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends libbpf's diagnostics to slf4j instead of straight to stderr. libbpf hands the callback
 * a printf format and a va_list, which libc's vsnprintf formats (a va_list argument is passed
 * as a pointer on x86-64 and arm64 Linux).
 */
final class LibbpfLog {
    private static final Logger log = LoggerFactory.getLogger("libbpf");
    private static final int LIBBPF_WARN = 0;
    private static final int LIBBPF_INFO = 1;
    private static final int MESSAGE_LIMIT = 4096;
    private static final String PREFIX = "libbpf: ";

    private static final MethodHandle VSNPRINTF = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().findOrThrow("vsnprintf"),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS));

    private LibbpfLog() {}

    static void install(Linker linker, SymbolLookup libbpf) {
        MethodHandle setPrint = linker.downcallHandle(libbpf.findOrThrow("libbpf_set_print"),
                FunctionDescriptor.of(ADDRESS, ADDRESS));
        try {
            MethodHandle print = MethodHandles.lookup().findStatic(LibbpfLog.class, "print",
                    MethodType.methodType(int.class, int.class, MemorySegment.class, MemorySegment.class));
            // libbpf keeps the callback for the life of the process, so its stub lives in the global arena.
            MemorySegment callback = linker.upcallStub(print,
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), Arena.global());
            setPrint.invoke(callback);  // returns the previous callback, libbpf's stderr printer
        } catch (Throwable t) {
            throw new IllegalStateException("cannot route libbpf's log to slf4j", t);
        }
    }

    // Called by libbpf on the thread that called into it. Must not throw: that would crash the JVM.
    private static int print(int level, MemorySegment format, MemorySegment arguments) {
        try {
            boolean enabled = switch (level) {
                case LIBBPF_WARN -> log.isWarnEnabled();
                case LIBBPF_INFO -> log.isInfoEnabled();
                default -> log.isDebugEnabled();
            };
            if (!enabled) {
                return 0;
            }
            String message;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buffer = arena.allocate(MESSAGE_LIMIT);
                int length = (int) VSNPRINTF.invokeExact(buffer, (long) MESSAGE_LIMIT, format, arguments);
                message = buffer.getString(0).stripTrailing() + (length >= MESSAGE_LIMIT ? " [truncated]" : "");
                if (message.startsWith(PREFIX)) {
                    message = message.substring(PREFIX.length());  // the logger's name says it already
                }
            }
            switch (level) {
                case LIBBPF_WARN -> log.warn(message);
                case LIBBPF_INFO -> log.info(message);
                default -> log.debug(message);
            }
            return message.length();
        } catch (Throwable t) {
            return 0;
        }
    }
}
