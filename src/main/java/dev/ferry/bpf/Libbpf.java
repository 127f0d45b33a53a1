package dev.ferry.bpf;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.ferry.sys.Errno;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * Downcalls into libbpf.so.1 (1.x). libbpf 1.x reports failure as a negative errno from int
 * functions, and as NULL plus errno from pointer functions, whose errno is therefore captured.
 */
final class Libbpf {
    static final String LIBRARY = "libbpf.so.1";

    static final Linker LINKER = Linker.nativeLinker();

    final MethodHandle objectOpenMem;        // bpf_object *(const void *, size_t, const opts *)
    final MethodHandle objectLoad;           // int (bpf_object *)
    final MethodHandle objectClose;          // void (bpf_object *)
    final MethodHandle objectFindMap;        // bpf_map *(const bpf_object *, const char *)
    final MethodHandle objectFindProgram;    // bpf_program *(const bpf_object *, const char *)
    final MethodHandle objectNextProgram;    // bpf_program *(const bpf_object *, bpf_program *prev)
    final MethodHandle programName;          // const char *(const bpf_program *)
    final MethodHandle programSetLogBuf;     // int (bpf_program *, char *, size_t)
    final MethodHandle programFd;            // int (const bpf_program *)
    final MethodHandle mapSetMaxEntries;     // int (bpf_map *, __u32)
    final MethodHandle mapMaxEntries;        // __u32 (const bpf_map *)
    final MethodHandle mapKeySize;           // __u32 (const bpf_map *)
    final MethodHandle mapValueSize;         // __u32 (const bpf_map *)
    final MethodHandle mapFd;                // int (const bpf_map *)
    final MethodHandle mapUpdateElem;        // int (int fd, const void *key, const void *value, __u64 flags)
    final MethodHandle mapLookupElem;        // int (int fd, const void *key, void *value)
    final MethodHandle mapDeleteElem;        // int (int fd, const void *key)
    final MethodHandle mapGetNextKey;        // int (int fd, const void *key, void *next_key)
    final MethodHandle progAttach;           // int (int prog_fd, int attachable_fd, enum type, unsigned flags)
    final MethodHandle progDetach2;          // int (int prog_fd, int attachable_fd, enum type)
    final MethodHandle versionString;        // const char *(void), e.g. "v1.1"
    final MethodHandle ringBufferNew;        // ring_buffer *(int map_fd, sample_fn, void *ctx, const opts *)
    final MethodHandle ringBufferPoll;       // int (ring_buffer *, int timeout_ms)
    final MethodHandle ringBufferFree;       // void (ring_buffer *)

    private Libbpf(SymbolLookup lookup) {
        objectOpenMem = capturing(lookup, "bpf_object__open_mem", ADDRESS, ADDRESS, JAVA_LONG, ADDRESS);
        objectLoad = function(lookup, "bpf_object__load", JAVA_INT, ADDRESS);
        objectClose = LINKER.downcallHandle(lookup.findOrThrow("bpf_object__close"),
                FunctionDescriptor.ofVoid(ADDRESS));
        objectFindMap = capturing(lookup, "bpf_object__find_map_by_name", ADDRESS, ADDRESS, ADDRESS);
        objectFindProgram = capturing(lookup, "bpf_object__find_program_by_name", ADDRESS, ADDRESS, ADDRESS);
        objectNextProgram = function(lookup, "bpf_object__next_program", ADDRESS, ADDRESS, ADDRESS);
        programName = function(lookup, "bpf_program__name", ADDRESS, ADDRESS);
        programSetLogBuf = function(lookup, "bpf_program__set_log_buf", JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG);
        programFd = function(lookup, "bpf_program__fd", JAVA_INT, ADDRESS);
        mapSetMaxEntries = function(lookup, "bpf_map__set_max_entries", JAVA_INT, ADDRESS, JAVA_INT);
        mapMaxEntries = function(lookup, "bpf_map__max_entries", JAVA_INT, ADDRESS);
        mapKeySize = function(lookup, "bpf_map__key_size", JAVA_INT, ADDRESS);
        mapValueSize = function(lookup, "bpf_map__value_size", JAVA_INT, ADDRESS);
        mapFd = function(lookup, "bpf_map__fd", JAVA_INT, ADDRESS);
        mapUpdateElem = function(lookup, "bpf_map_update_elem", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG);
        mapLookupElem = function(lookup, "bpf_map_lookup_elem", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
        mapDeleteElem = function(lookup, "bpf_map_delete_elem", JAVA_INT, JAVA_INT, ADDRESS);
        mapGetNextKey = function(lookup, "bpf_map_get_next_key", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
        progAttach = function(lookup, "bpf_prog_attach", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
        progDetach2 = function(lookup, "bpf_prog_detach2", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
        versionString = function(lookup, "libbpf_version_string", ADDRESS);
        ringBufferNew = capturing(lookup, "ring_buffer__new", ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        ringBufferPoll = function(lookup, "ring_buffer__poll", JAVA_INT, ADDRESS, JAVA_INT);
        ringBufferFree = LINKER.downcallHandle(lookup.findOrThrow("ring_buffer__free"),
                FunctionDescriptor.ofVoid(ADDRESS));
        LibbpfLog.install(LINKER, lookup);
    }

    /** The process-wide binding; fails with ELIBACC when libbpf.so.1 cannot be loaded. */
    static Libbpf get() throws BpfException {
        if (Holder.INSTANCE == null) {
            throw new BpfException("load " + LIBRARY + " (" + Holder.FAILURE
                    + "; install the libbpf1 package)", Errno.ELIBACC);
        }
        return Holder.INSTANCE;
    }

    // Loaded once, on first use, so that a host without libbpf fails only when BPF is wanted.
    private static final class Holder {
        static final Libbpf INSTANCE;
        static final String FAILURE;

        static {
            Libbpf instance = null;
            String failure = null;
            try {
                // The global arena: the library stays mapped for the life of the process.
                instance = new Libbpf(SymbolLookup.libraryLookup(LIBRARY, Arena.global()));
            } catch (RuntimeException e) {  // no library, a missing symbol (libbpf 0.x), ...
                failure = e.getMessage();
            }
            INSTANCE = instance;
            FAILURE = failure;
        }
    }

    @FunctionalInterface
    interface IntDowncall {
        int invoke() throws Throwable;
    }

    @FunctionalInterface
    interface PointerCall {
        MemorySegment invoke() throws Throwable;
    }

    @FunctionalInterface
    interface PointerDowncall {
        MemorySegment invoke(MemorySegment callState) throws Throwable;
    }

    /** Runs an int downcall and returns its result, negative errno included. */
    static int raw(IntDowncall downcall) {
        try {
            return downcall.invoke();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("a downcall threw a checked exception", t);
        }
    }

    @FunctionalInterface
    interface VoidDowncall {
        void invoke() throws Throwable;
    }

    static void rawVoid(VoidDowncall downcall) {
        try {
            downcall.invoke();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("a downcall threw a checked exception", t);
        }
    }

    /** Runs a pointer downcall that cannot fail. */
    static MemorySegment rawPointer(PointerCall downcall) {
        try {
            return downcall.invoke();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("a downcall threw a checked exception", t);
        }
    }

    /** A NUL-terminated string owned by libbpf (the zero-length segment a downcall returns). */
    static String string(MemorySegment cString) {
        return cString.reinterpret(Long.MAX_VALUE).getString(0);
    }

    /** Runs an int downcall; a negative result is -errno. */
    static int check(String operation, IntDowncall downcall) throws BpfException {
        int result = raw(downcall);
        if (result < 0) {
            throw new BpfException(operation, -result);
        }
        return result;
    }

    /** Runs a pointer downcall linked with {@link Errno#CAPTURE}; NULL means failure, errno why. */
    static MemorySegment checkPointer(String operation, PointerDowncall downcall) throws BpfException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(Errno.CALL_STATE);
            MemorySegment result;
            try {
                result = downcall.invoke(state);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new AssertionError("a downcall threw a checked exception", t);
            }
            if (result.equals(MemorySegment.NULL)) {
                int errno = Errno.captured(state);
                // libbpf 1.x sets errno on every NULL return; a lookup that did not is a "not found".
                throw new BpfException(operation, errno != 0 ? errno : Errno.ENOENT);
            }
            return result;
        }
    }

    /** libbpf's own version, e.g. "v1.1". */
    String version() {
        return string(rawPointer(() -> (MemorySegment) versionString.invokeExact()));
    }

    private static MethodHandle function(SymbolLookup lookup, String name, MemoryLayout result,
                                         MemoryLayout... arguments) {
        return LINKER.downcallHandle(lookup.findOrThrow(name), FunctionDescriptor.of(result, arguments));
    }

    private static MethodHandle capturing(SymbolLookup lookup, String name, MemoryLayout result,
                                          MemoryLayout... arguments) {
        return LINKER.downcallHandle(lookup.findOrThrow(name), FunctionDescriptor.of(result, arguments),
                Errno.CAPTURE);
    }
}
