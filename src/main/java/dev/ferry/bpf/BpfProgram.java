package dev.ferry.bpf;

import java.lang.foreign.MemorySegment;

/** A program of a {@link BpfObject}, which owns its fd. */
public final class BpfProgram {
    private final BpfObject owner;
    private final Libbpf libbpf;
    private final String name;
    private final MemorySegment program;

    BpfProgram(BpfObject owner, Libbpf libbpf, String name, MemorySegment program) {
        this.owner = owner;
        this.libbpf = libbpf;
        this.name = name;
        this.program = program;
    }

    public String name() {
        return name;
    }

    /** The program's fd; it belongs to the owning object, do not close it. */
    public int fd() {
        owner.ensureOpen();
        int fd = Libbpf.raw(() -> (int) libbpf.programFd.invokeExact(program));
        if (fd < 0) {
            throw new IllegalStateException("program " + name + " is not loaded");
        }
        return fd;
    }

    /** Attaches this program to a map (bpf_prog_attach), e.g. a verdict program to a SOCKHASH. */
    public void attach(BpfMap map, AttachType type) throws BpfException {
        int programFd = fd();
        int mapFd = map.fd();
        Libbpf.check("attach program " + name + " to map " + map.name() + " as " + type,
                () -> (int) libbpf.progAttach.invokeExact(programFd, mapFd, type.value(), 0));
    }

    public void detach(BpfMap map, AttachType type) throws BpfException {
        int programFd = fd();
        int mapFd = map.fd();
        Libbpf.check("detach program " + name + " from map " + map.name() + " as " + type,
                () -> (int) libbpf.progDetach2.invokeExact(programFd, mapFd, type.value()));
    }

    MemorySegment pointer() {
        return program;
    }

    @Override
    public String toString() {
        return "BpfProgram[" + name + "]";
    }
}
