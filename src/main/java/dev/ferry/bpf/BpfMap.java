package dev.ferry.bpf;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.ferry.sys.Errno;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A map of a {@link BpfObject}, which owns its fd. Keys and values are native segments at least
 * as large as the map's key and value size: the kernel copies exactly that many bytes.
 */
public final class BpfMap {
    /** bpf_map_update_elem flags. */
    public static final long ANY = 0, NO_EXIST = 1, EXIST = 2;

    private final BpfObject owner;
    private final Libbpf libbpf;
    private final String name;
    private final MemorySegment map;

    BpfMap(BpfObject owner, Libbpf libbpf, String name, MemorySegment map) {
        this.owner = owner;
        this.libbpf = libbpf;
        this.name = name;
        this.map = map;
    }

    public String name() {
        return name;
    }

    /** Must be called before the owning object is loaded. */
    public void setMaxEntries(int maxEntries) throws BpfException {
        owner.ensureOpen();
        Libbpf.check("set max entries of map " + name + " to " + maxEntries,
                () -> (int) libbpf.mapSetMaxEntries.invokeExact(map, maxEntries));
    }

    public int maxEntries() {
        owner.ensureOpen();
        return Libbpf.raw(() -> (int) libbpf.mapMaxEntries.invokeExact(map));
    }

    public int keySize() {
        owner.ensureOpen();
        return Libbpf.raw(() -> (int) libbpf.mapKeySize.invokeExact(map));
    }

    public int valueSize() {
        owner.ensureOpen();
        return Libbpf.raw(() -> (int) libbpf.mapValueSize.invokeExact(map));
    }

    /** The map's fd; it belongs to the owning object, do not close it. */
    public int fd() {
        owner.ensureOpen();
        int fd = Libbpf.raw(() -> (int) libbpf.mapFd.invokeExact(map));
        if (fd < 0) {
            throw new IllegalStateException("map " + name + " is not loaded");
        }
        return fd;
    }

    /** For a SOCKHASH, the value is the socket's fd (as a __u64 here). */
    public void update(MemorySegment key, MemorySegment value, long flags) throws BpfException {
        int fd = fd();
        requireSize(key, keySize(), "key");
        requireSize(value, valueSize(), "value");
        Libbpf.check("update map " + name,
                () -> (int) libbpf.mapUpdateElem.invokeExact(fd, key, value, flags));
    }

    /** Returns false when there was no such key. */
    public boolean delete(MemorySegment key) throws BpfException {
        int fd = fd();
        requireSize(key, keySize(), "key");
        return absentIfEnoent("delete from map " + name,
                Libbpf.raw(() -> (int) libbpf.mapDeleteElem.invokeExact(fd, key)));
    }

    /** Copies the value into {@code valueOut}; returns false when there is no such key. */
    public boolean lookup(MemorySegment key, MemorySegment valueOut) throws BpfException {
        int fd = fd();
        requireSize(key, keySize(), "key");
        requireSize(valueOut, valueSize(), "value");
        return absentIfEnoent("look up in map " + name,
                Libbpf.raw(() -> (int) libbpf.mapLookupElem.invokeExact(fd, key, valueOut)));
    }

    public void update(long key, long value, long flags) throws BpfException {
        try (Arena arena = Arena.ofConfined()) {
            update(arena.allocateFrom(JAVA_LONG, key), arena.allocateFrom(JAVA_LONG, value), flags);
        }
    }

    public boolean delete(long key) throws BpfException {
        try (Arena arena = Arena.ofConfined()) {
            return delete(arena.allocateFrom(JAVA_LONG, key));
        }
    }

    public boolean lookup(long key, MemorySegment valueOut) throws BpfException {
        try (Arena arena = Arena.ofConfined()) {
            return lookup(arena.allocateFrom(JAVA_LONG, key), valueOut);
        }
    }

    /**
     * Counts entries by walking the keys. Exact only while nobody changes the map: a hash map
     * walk restarts from the first key when the current one is deleted, hence the bound.
     */
    public int countEntries() throws BpfException {
        int fd = fd();
        int limit = maxEntries();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment current = arena.allocate(keySize(), 8);
            MemorySegment next = arena.allocate(keySize(), 8);
            MemorySegment previous = MemorySegment.NULL;  // NULL asks for the first key
            int count = 0;
            while (count < limit) {
                MemorySegment from = previous;
                int result = Libbpf.raw(() -> (int) libbpf.mapGetNextKey.invokeExact(fd, from, next));
                if (result == -Errno.ENOENT) {
                    break;
                }
                if (result < 0) {
                    throw new BpfException("walk keys of map " + name, -result);
                }
                count++;
                current.copyFrom(next);
                previous = current;
            }
            return count;
        }
    }

    private static boolean absentIfEnoent(String operation, int result) throws BpfException {
        if (result == -Errno.ENOENT) {
            return false;
        }
        if (result < 0) {
            throw new BpfException(operation, -result);
        }
        return true;
    }

    private void requireSize(MemorySegment segment, int size, String what) {
        if (!segment.isNative() || segment.byteSize() < size) {
            throw new IllegalArgumentException(what + " of map " + name + " must be a native segment of at least "
                    + size + " bytes, got " + segment);
        }
    }

    @Override
    public String toString() {
        return "BpfMap[" + name + "]";
    }
}
