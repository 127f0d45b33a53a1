package dev.ferry.bpf;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A libbpf {@code struct bpf_object}: an ELF file's programs and maps. Owns the object, and with
 * it every map and program fd; {@link #close()} releases them all.
 *
 * <p>Maps and programs handed out stay valid until close. Closing while another thread still uses
 * one of them is the caller's bug: a closed fd number may already belong to something else.
 */
public final class BpfObject implements AutoCloseable {
    // The verifier states its reason at the end; the kernel keeps the tail when the log overflows.
    private static final long VERIFIER_LOG_SIZE = 256 * 1024;
    // struct bpf_object_open_opts up to and including object_name; libbpf accepts a short opts struct.
    private static final long OPEN_OPTS_SIZE = 16;

    private final Libbpf libbpf;
    private final String name;
    // Holds the ELF image, the name and the verifier log buffers for as long as libbpf may use them.
    private final Arena arena;
    private final MemorySegment object;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final List<MemorySegment> logBuffers = new ArrayList<>();

    private BpfObject(Libbpf libbpf, String name, Arena arena, MemorySegment object) {
        this.libbpf = libbpf;
        this.name = name;
        this.arena = arena;
        this.object = object;
    }

    /** Parses an ELF image (bpf_object__open_mem); nothing reaches the kernel until {@link #load()}. */
    public static BpfObject open(String name, byte[] elf) throws BpfException {
        Libbpf libbpf = Libbpf.get();
        Arena arena = Arena.ofShared();
        try {
            MemorySegment image = arena.allocateFrom(JAVA_BYTE, elf);
            MemorySegment opts = arena.allocate(OPEN_OPTS_SIZE, 8);
            opts.set(JAVA_LONG, 0, OPEN_OPTS_SIZE);                   // sz
            opts.set(ADDRESS, 8, arena.allocateFrom(name));          // object_name
            MemorySegment object = Libbpf.checkPointer("open BPF object " + name,
                    state -> (MemorySegment) libbpf.objectOpenMem.invokeExact(state, image, image.byteSize(), opts));
            return new BpfObject(libbpf, name, arena, object);
        } catch (BpfException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** Loads libbpf.so.1 if needed and returns its version ("v1.1"); ELIBACC if it cannot be loaded. */
    public static String libbpfVersion() throws BpfException {
        return Libbpf.get().version();
    }

    public String name() {
        return name;
    }

    public BpfMap map(String mapName) throws BpfException {
        ensureOpen();
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment cName = scratch.allocateFrom(mapName);
            MemorySegment map = Libbpf.checkPointer("find map " + mapName + " in " + name,
                    state -> (MemorySegment) libbpf.objectFindMap.invokeExact(state, object, cName));
            return new BpfMap(this, libbpf, mapName, map);
        }
    }

    public BpfProgram program(String programName) throws BpfException {
        ensureOpen();
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment cName = scratch.allocateFrom(programName);
            MemorySegment program = Libbpf.checkPointer("find program " + programName + " in " + name,
                    state -> (MemorySegment) libbpf.objectFindProgram.invokeExact(state, object, cName));
            return new BpfProgram(this, libbpf, programName, program);
        }
    }

    /**
     * Creates the maps and loads the programs into the kernel. A program the verifier rejects
     * fails with its verifier log: libbpf loads without a log first and, on failure, retries
     * with log level 1 into the buffer set here, so successful loads pay for no log.
     */
    public synchronized void load() throws BpfException {
        ensureOpen();
        List<BpfProgram> programs = programs();
        for (BpfProgram program : programs) {
            MemorySegment buffer = arena.allocate(VERIFIER_LOG_SIZE);
            logBuffers.add(buffer);
            Libbpf.check("set log buffer of program " + program.name(),
                    () -> (int) libbpf.programSetLogBuf.invokeExact(program.pointer(), buffer, buffer.byteSize()));
        }
        int result = Libbpf.raw(() -> (int) libbpf.objectLoad.invokeExact(object));
        if (result < 0) {
            // libbpf stops at the first program that fails, so at most one log is non-empty.
            for (int i = 0; i < programs.size(); i++) {
                String log = logBuffers.get(i).getString(0);
                if (!log.isEmpty()) {
                    throw new BpfException("load program " + programs.get(i).name(), -result, log);
                }
            }
            throw new BpfException("load BPF object " + name, -result);
        }
    }

    private List<BpfProgram> programs() {
        List<BpfProgram> programs = new ArrayList<>();
        MemorySegment previous = MemorySegment.NULL;
        while (true) {
            MemorySegment current = previous;
            MemorySegment next = Libbpf.rawPointer(
                    () -> (MemorySegment) libbpf.objectNextProgram.invokeExact(object, current));
            if (next.equals(MemorySegment.NULL)) {
                return programs;
            }
            MemorySegment cName = Libbpf.rawPointer(() -> (MemorySegment) libbpf.programName.invokeExact(next));
            programs.add(new BpfProgram(this, libbpf, Libbpf.string(cName), next));
            previous = next;
        }
    }

    /** Closes every map and program fd of this object. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Libbpf.raw(() -> {
                libbpf.objectClose.invokeExact(object);
                return 0;
            });
            arena.close();
        }
    }

    void ensureOpen() {
        if (closed.get()) {
            throw new IllegalStateException("BPF object " + name + " is closed");
        }
    }
}
