package dev.ferry.bpf;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class BpfObjectTest {
    private static final int CONN_SIZE = 80;  // struct conn in bpf/ferry.bpf.c: ten __u64

    @Test
    void loadsAttachesAndClosesIdempotently() throws Exception {
        BpfObject object = BpfObject.open("ferry", resource("/bpf/ferry.bpf.o"));
        BpfMap sources = object.map("sock_sources");
        sources.setMaxEntries(16);
        BpfProgram verdict = object.program("ferry_verdict");
        object.load();
        assertTrue(verdict.fd() > 0);
        assertEquals(16, sources.maxEntries());
        verdict.attach(sources, AttachType.SK_SKB_VERDICT);
        verdict.detach(sources, AttachType.SK_SKB_VERDICT);
        BpfException twice = assertThrows(BpfException.class, () -> verdict.detach(sources, AttachType.SK_SKB_VERDICT));
        assertEquals("ENOENT", twice.errnoName());
        assertEquals("detach program ferry_verdict from map sock_sources as SK_SKB_VERDICT", twice.operation());

        object.close();
        object.close();
        assertThrows(IllegalStateException.class, sources::fd);
        assertThrows(IllegalStateException.class, verdict::fd);
    }

    @Test
    void mapUpdateLookupDeleteAndCount() throws Exception {
        try (BpfObject object = loadedFerry(); Arena arena = Arena.ofConfined()) {
            BpfMap conns = object.map("conns");
            assertEquals(8, conns.keySize());
            assertEquals(CONN_SIZE, conns.valueSize());
            MemorySegment conn = arena.allocate(CONN_SIZE, 8);
            for (long cookie = 1; cookie <= 3; cookie++) {
                conn.set(JAVA_LONG, 0, cookie * 100);
                conns.update(arena.allocateFrom(JAVA_LONG, cookie), conn, BpfMap.NO_EXIST);
            }
            assertEquals(3, conns.countEntries());

            MemorySegment found = arena.allocate(CONN_SIZE, 8);
            assertTrue(conns.lookup(2, found));
            assertEquals(200, found.get(JAVA_LONG, 0));
            assertTrue(conns.delete(2));
            assertFalse(conns.delete(2), "a missing key is an answer, not an error");
            assertFalse(conns.lookup(2, found));
            assertEquals(2, conns.countEntries());

            BpfException duplicate = assertThrows(BpfException.class,
                    () -> conns.update(arena.allocateFrom(JAVA_LONG, 1L), conn, BpfMap.NO_EXIST));
            assertEquals("EEXIST", duplicate.errnoName());
            assertEquals("update map conns", duplicate.operation());
        }
    }

    @Test
    void segmentsTooSmallForTheMapAreRefusedBeforeTheKernelReadsThem() throws Exception {
        try (BpfObject object = loadedFerry(); Arena arena = Arena.ofConfined()) {
            BpfMap conns = object.map("conns");
            assertThrows(IllegalArgumentException.class, () -> conns.lookup(1, arena.allocate(8)));
            assertThrows(IllegalArgumentException.class,
                    () -> conns.update(MemorySegment.ofArray(new long[1]), arena.allocate(CONN_SIZE), BpfMap.ANY));
        }
    }

    @Test
    void aSockhashRefusesAFdThatIsNotASocket() throws Exception {
        try (BpfObject object = loadedFerry()) {
            BpfMap sources = object.map("sock_sources");
            int notASocket = object.map("conns").fd();
            BpfException e = assertThrows(BpfException.class, () -> sources.update(1, notASocket, BpfMap.ANY));
            assertEquals("update map sock_sources", e.operation());
            assertEquals("ENOTSOCK", e.errnoName());
            assertEquals("update map sock_sources failed: ENOTSOCK (Socket operation on non-socket)", e.getMessage());
            assertEquals("", e.verifierLog());
        }
    }

    @Test
    void lookupFailuresNameWhatWasMissing() throws Exception {
        try (BpfObject object = BpfObject.open("ferry", resource("/bpf/ferry.bpf.o"))) {
            BpfException e = assertThrows(BpfException.class, () -> object.map("nope"));
            assertEquals("ENOENT", e.errnoName());
            assertEquals("find map nope in ferry", e.operation());
            object.load();
            BpfException late = assertThrows(BpfException.class, () -> object.map("conns").setMaxEntries(2));
            assertEquals("EBUSY", late.errnoName(), "max entries are fixed once the map exists");
        }
    }

    @Test
    void aRejectedProgramCarriesTheVerifierLog() throws Exception {
        try (BpfObject object = BpfObject.open("invalid", resource("/bpf/invalid.bpf.o"))) {
            BpfException e = assertThrows(BpfException.class, object::load);
            assertEquals("load program unchecked_lookup", e.operation());
            assertEquals("EACCES", e.errnoName());
            assertTrue(e.verifierLog().contains("invalid mem access 'map_value_or_null'"), e.verifierLog());
            assertTrue(e.getMessage().contains("invalid mem access"), e.getMessage());
        }
    }

    @Test
    void garbageIsNotAnObject() {
        BpfException e = assertThrows(BpfException.class, () -> BpfObject.open("garbage", new byte[64]));
        assertEquals("open BPF object garbage failed: LIBBPF_ERRNO__FORMAT (BPF object format invalid)",
                e.getMessage());
    }

    static BpfObject loadedFerry() throws Exception {
        BpfObject object = BpfObject.open("ferry", resource("/bpf/ferry.bpf.o"));
        try {
            for (String map : new String[] {"sock_sources", "sock_targets", "conns"}) {
                object.map(map).setMaxEntries(16);
            }
            object.load();
            return object;
        } catch (BpfException | RuntimeException e) {
            object.close();
            throw e;
        }
    }

    static byte[] resource(String name) throws IOException {
        try (InputStream in = BpfObjectTest.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException(name + " not on the classpath");
            }
            return in.readAllBytes();
        }
    }
}
