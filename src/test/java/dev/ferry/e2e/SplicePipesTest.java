package dev.ferry.e2e;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.testing.Await;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.HashPeer;
import dev.ferry.testing.RandomStream;
import dev.ferry.testing.TestBackend;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.net.Socket;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The splice plane takes a pipe for a direction only while that direction has bytes to move: an idle
 * connection holds its two sockets and nothing else, and a direction that finds no pipe (descriptor
 * limit reached) waits, and delivers every byte once a pipe can be had again.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class SplicePipesTest {
    private static final String SPARE = "ferry_splice_pipes{state=\"spare\"}";
    private static final String IN_USE = "ferry_splice_pipes{state=\"in_use\"}";
    private static final int EXCHANGED = 100_000;

    @Test
    void idleConnectionsHoldTheirSocketsAndNoPipe() throws Exception {
        CountDownLatch done = new CountDownLatch(1);
        try (TestBackend backend = new TestBackend(socket -> {
                 socket.getInputStream().readNBytes(EXCHANGED);
                 socket.getOutputStream().write(new byte[EXCHANGED]);
                 done.await();
                 return null;
             });
             FerryHarness ferry = FerryHarness.catchAllOn("splice", backend.endpoint())) {
            exchange(ferry.connect()).close();
            awaitStat(ferry, IN_USE, 0);
            long pipesBefore = pipes(ferry);
            int descriptorsBefore = FerryHarness.openDescriptors();
            int connections = 40;
            List<Socket> clients = new ArrayList<>();
            try {
                for (int i = 0; i < connections; i++) {
                    clients.add(exchange(ferry.connect()));
                }
                awaitStat(ferry, IN_USE, 0);
                long pipesAfter = pipes(ferry);
                // Per connection: the test's client socket, the backend's socket and Ferry's two.
                int expected = descriptorsBefore + 4 * connections + 2 * Math.toIntExact(pipesAfter - pipesBefore);
                FerryHarness.awaitDescriptors(expected, Duration.ofSeconds(10));
                assertEquals(expected, FerryHarness.openDescriptors(),
                        "descriptors for " + connections + " idle connections (" + pipesAfter + " spare pipes)");
                assertTrue(pipesAfter <= 2 * 64, "spare pipes are bounded per event loop: " + pipesAfter);
            } finally {
                done.countDown();
                for (Socket client : clients) {
                    client.close();
                }
            }
        }
    }

    /** Sends and receives {@value #EXCHANGED} bytes, so that both directions have used a pipe. */
    private static Socket exchange(Socket client) throws IOException {
        client.getOutputStream().write(new byte[EXCHANGED]);
        assertEquals(EXCHANGED, client.getInputStream().readNBytes(EXCHANGED).length);
        return client;
    }

    @Test
    void aDirectionThatFindsNoPipeWaitsAndThenDeliversEveryByte() throws Exception {
        CountDownLatch backendsMayRead = new CountDownLatch(1);
        try (TestBackend backend = new TestBackend(socket -> {
                 HashPeer.syncAsBackend(socket);
                 backendsMayRead.await();
                 return HashPeer.receive(socket.getInputStream());
             });
             // A fixed send buffer towards the backends: autotuning would keep growing it, and the pipes
             // of the stalled connections would empty now and then.
             FerryHarness ferry = FerryHarness.start("splice", "socket_buffers: { backend_send: 64KiB }\n"
                     + FerryHarness.catchAllYaml(backend.endpoint()))) {
            Map<Socket, Long> lengths = new HashMap<>();
            List<CompletableFuture<Void>> senders = new ArrayList<>();
            try {
                // Handed off while idle: it holds no pipe.
                Socket late = ferry.connect();
                HashPeer.syncAsClient(late);
                lengths.put(late, 1_000_000L);
                // Connections whose backend does not read keep their pipes full once every buffer on the
                // way is (32 MB is more than those take), until no spare pipe is left.
                for (int i = 0; i < 16 && (i == 0 || ferry.stat(SPARE) > 0); i++) {
                    Socket stalled = ferry.connect();
                    HashPeer.syncAsClient(stalled);
                    long length = 32_000_000L + i;
                    lengths.put(stalled, length);
                    senders.add(HashPeer.sendAsync(stalled, length, length));
                    awaitStalled(ferry, i + 1);
                }
                assertEquals(0, ferry.stat(SPARE), "spare pipes left after 16 stalled connections");

                long waits;
                try (OpenFilesLimit ignored = OpenFilesLimit.lowerToLowestFreeDescriptor()) {
                    senders.add(HashPeer.sendAsync(late, 1_000_000L, 1_000_000L));
                    Await.until(() -> ferry.stat("ferry_splice_pipe_waits_total{reason=\"EMFILE\"}") >= 2,
                            Duration.ofSeconds(10),
                            () -> "the late connection's direction waited for a pipe, and tried again: "
                                    + ferry.ferry().stats().render().lines()
                                            .filter(line -> line.contains("splice")).toList());
                    waits = ferry.stat("ferry_splice_pipe_waits_total{reason=\"EMFILE\"}");
                }
                backendsMayRead.countDown();
                for (CompletableFuture<Void> sender : senders) {
                    sender.get(60, TimeUnit.SECONDS);
                }
                Set<String> expected = new TreeSet<>();
                for (long length : lengths.values()) {
                    expected.add(length + " " + RandomStream.sha256(length, length));
                }
                Set<String> received = new TreeSet<>();
                for (int i = 0; i < lengths.size(); i++) {
                    HashPeer.Received result = backend.nextResult(60);
                    received.add(result.bytes() + " " + result.sha256());
                }
                assertEquals(expected, received, "every stream arrived whole (" + waits + " waits for a pipe)");
                awaitStat(ferry, IN_USE, 0);
            } finally {
                backendsMayRead.countDown();
                for (Socket client : lengths.keySet()) {
                    client.close();
                }
            }
        }
    }

    /** Until {@code connections} pipes are in use and the bytes in pipes stay put for 300 ms. */
    private static void awaitStalled(FerryHarness ferry, long connections) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        long last = -1;
        int steady = 0;
        while (steady < 3) {
            long buffered = ferry.bufferedBytes("splice");
            steady = ferry.stat(IN_USE) == connections && buffered == last ? steady + 1 : 0;
            last = buffered;
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 20 s: " + connections + " stalled connections holding a full pipe"
                        + " each (in use " + ferry.stat(IN_USE) + ", bytes in pipes " + buffered + ")");
            }
            Thread.sleep(100);
        }
    }

    private static long pipes(FerryHarness ferry) {
        return ferry.stat(SPARE) + ferry.stat(IN_USE);
    }

    private static void awaitStat(FerryHarness ferry, String name, long value) throws InterruptedException {
        Await.until(() -> ferry.stat(name) == value, Duration.ofSeconds(10),
                () -> name + " == " + value + " (is " + ferry.stat(name) + ")");
    }

    /**
     * Lowers this process's soft RLIMIT_NOFILE to its lowest free descriptor number and fills whatever
     * holes are left below it, so that no new descriptor can be made; puts the old limit back on close.
     * Only what the test does meanwhile runs in the window: no descriptor is opened by it.
     */
    private static final class OpenFilesLimit implements AutoCloseable {
        private static final int RLIMIT_NOFILE = 7;
        private static final Linker LINKER = Linker.nativeLinker();
        private static final MethodHandle GETRLIMIT = LINKER.downcallHandle(
                LINKER.defaultLookup().findOrThrow("getrlimit"), FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        private static final MethodHandle SETRLIMIT = LINKER.downcallHandle(
                LINKER.defaultLookup().findOrThrow("setrlimit"), FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));

        private final long soft;
        private final long hard;
        private final List<FileChannel> fillers;

        private OpenFilesLimit(long soft, long hard, List<FileChannel> fillers) {
            this.soft = soft;
            this.hard = hard;
            this.fillers = fillers;
        }

        static OpenFilesLimit lowerToLowestFreeDescriptor() throws IOException {
            long[] limit = get();
            Set<Integer> used;
            try (var entries = Files.list(Path.of("/proc/self/fd"))) {
                used = entries.map(entry -> Integer.parseInt(entry.getFileName().toString()))
                        .collect(Collectors.toSet());
            }
            int lowestFree = 0;
            while (used.contains(lowestFree)) {
                lowestFree++;
            }
            set(lowestFree, limit[1]);
            List<FileChannel> fillers = new ArrayList<>();
            try {
                while (fillers.size() < 64) {
                    fillers.add(FileChannel.open(Path.of("/dev/null")));
                }
                throw new IOException("64 descriptors could still be opened below the lowered limit");
            } catch (IOException full) {
                if (fillers.size() == 64) {
                    closeAll(fillers);
                    set(limit[0], limit[1]);
                    throw full;
                }
                return new OpenFilesLimit(limit[0], limit[1], fillers);  // EMFILE: every slot is taken
            }
        }

        @Override
        public void close() throws IOException {
            try {
                set(soft, hard);
            } finally {
                closeAll(fillers);
            }
        }

        private static void closeAll(List<FileChannel> channels) throws IOException {
            for (FileChannel channel : channels) {
                channel.close();
            }
        }

        private static long[] get() throws IOException {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment limit = arena.allocate(JAVA_LONG, 2);
                call(GETRLIMIT, limit, "getrlimit");
                return new long[] {limit.getAtIndex(JAVA_LONG, 0), limit.getAtIndex(JAVA_LONG, 1)};
            }
        }

        private static void set(long soft, long hard) throws IOException {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment limit = arena.allocate(JAVA_LONG, 2);
                limit.setAtIndex(JAVA_LONG, 0, soft);
                limit.setAtIndex(JAVA_LONG, 1, hard);
                call(SETRLIMIT, limit, "setrlimit");
            }
        }

        private static void call(MethodHandle function, MemorySegment limit, String name) throws IOException {
            int result;
            try {
                result = (int) function.invokeExact(RLIMIT_NOFILE, limit);
            } catch (Throwable t) {
                throw new AssertionError(name + " downcall threw", t);
            }
            if (result != 0) {
                throw new IOException(name + " failed");
            }
        }
    }
}
