package dev.ferry.bpf;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes a BPF_MAP_TYPE_RINGBUF map on a thread of its own, handing each record to a callback.
 * The callback runs on that thread and must be quick: hand work to where it belongs and return.
 * Owns libbpf's ring_buffer, the upcall stub and the thread; {@link #close()} releases all three.
 */
public final class BpfRingBuffer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BpfRingBuffer.class);
    private static final int POLL_MILLIS = 200;
    private static final MethodHandle SAMPLE;

    static {
        try {
            SAMPLE = MethodHandles.lookup().findVirtual(BpfRingBuffer.class, "sample",
                    MethodType.methodType(int.class, MemorySegment.class, MemorySegment.class, long.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Libbpf libbpf;
    private final Arena arena = Arena.ofShared();
    private final Consumer<MemorySegment> onRecord;
    private final MemorySegment ring;
    private final Thread poller;
    private volatile boolean closing;

    private BpfRingBuffer(BpfMap map, Consumer<MemorySegment> onRecord, String threadName) throws BpfException {
        this.libbpf = Libbpf.get();
        this.onRecord = onRecord;
        try {
            MemorySegment callback = Libbpf.LINKER.upcallStub(SAMPLE.bindTo(this),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG), arena);
            int fd = map.fd();
            this.ring = Libbpf.checkPointer("open ring buffer " + map.name(),
                    state -> (MemorySegment) libbpf.ringBufferNew.invokeExact(state, fd, callback,
                            MemorySegment.NULL, MemorySegment.NULL));
        } catch (BpfException | RuntimeException e) {
            arena.close();
            throw e;
        }
        this.poller = Thread.ofPlatform().daemon().name(threadName).unstarted(this::pollUntilClosed);
    }

    /** Opens the ring buffer of {@code map} and starts consuming it. */
    public static BpfRingBuffer start(BpfMap map, Consumer<MemorySegment> onRecord, String threadName)
            throws BpfException {
        BpfRingBuffer buffer = new BpfRingBuffer(map, onRecord, threadName);
        buffer.poller.start();
        return buffer;
    }

    private void pollUntilClosed() {
        while (!closing) {
            int result = Libbpf.raw(() -> (int) libbpf.ringBufferPoll.invokeExact(ring, POLL_MILLIS));
            if (result < 0 && result != -4 /* EINTR */) {
                LOG.error("polling the ring buffer failed with errno {}; stopping", -result);
                return;
            }
        }
    }

    @SuppressWarnings("unused")  // called from native code through the upcall stub
    private int sample(MemorySegment context, MemorySegment data, long size) {
        try {
            onRecord.accept(data.reinterpret(size));
        } catch (RuntimeException e) {
            LOG.error("a ring buffer record handler failed", e);
        }
        return 0;
    }

    @Override
    public void close() {
        if (closing) {
            return;
        }
        closing = true;
        try {
            poller.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Libbpf.rawVoid(() -> {
            libbpf.ringBufferFree.invokeExact(ring);
        });
        arena.close();
    }
}
