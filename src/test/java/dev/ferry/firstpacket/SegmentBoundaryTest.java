package dev.ferry.firstpacket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.sys.LoopbackListener;
import dev.ferry.sys.SocketFd;
import dev.ferry.sys.SocketIo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.Socket;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Reading on to a segment boundary, on a real loopback socket after a first read that filled its buffer. */
@Timeout(value = 1, unit = TimeUnit.MINUTES)
class SegmentBoundaryTest {
    private static final int FIRST_READ = 16 * 1024;

    @Test
    void readsEverythingQueuedAfterAFullRead() throws Exception {
        byte[] sent = random(48 * 1024);
        ReadOn read = readOnAfterAFullFirstRead(sent, false, 1024 * 1024);

        assertTrue(read.atBoundary());
        assertArrayEquals(sent, read.bytes());
    }

    @Test
    void stopsAtTheLimitAndSaysTheQueueMayBeSplit() throws Exception {
        byte[] sent = random(48 * 1024);
        ReadOn read = readOnAfterAFullFirstRead(sent, false, 8 * 1024);

        assertFalse(read.atBoundary());
        assertArrayEquals(Arrays.copyOf(sent, FIRST_READ + 8 * 1024), read.bytes());
    }

    @Test
    void theEndOfTheStreamIsABoundary() throws Exception {
        byte[] sent = random(20 * 1024);
        ReadOn read = readOnAfterAFullFirstRead(sent, true, 1024 * 1024);

        assertTrue(read.atBoundary());
        assertArrayEquals(sent, read.bytes());
    }

    /** What {@link SegmentBoundary#readOn} answered, and every byte read, the first read's included. */
    private record ReadOn(boolean atBoundary, byte[] bytes) {}

    /**
     * A client sends {@code sent} (then its FIN, if {@code endOfStream}) over loopback; the server
     * side reads FIRST_READ bytes, a read that fills its buffer, then reads on up to {@code limit}.
     */
    private static ReadOn readOnAfterAFullFirstRead(byte[] sent, boolean endOfStream, int limit) throws Exception {
        try (LoopbackListener listener = LoopbackListener.open();
             Socket client = new Socket(InetAddress.getLoopbackAddress(), listener.port());
             SocketFd server = listener.accept()) {
            client.getOutputStream().write(sent);
            if (endOfStream) {
                client.shutdownOutput();
            }
            ByteBuf read = firstRead(server, sent.length);
            boolean atBoundary = SegmentBoundary.readOn(server.value(), read, limit);
            return new ReadOn(atBoundary, bytes(read));
        }
    }

    /** Waits until all {@code length} bytes are queued, then reads FIRST_READ of them, as a full first read. */
    private static ByteBuf firstRead(SocketFd server, int length) throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment all = arena.allocate(length);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (SocketIo.receive(server.value(), all, SocketIo.MSG_PEEK) < length) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("the bytes were not all queued within 10 s");
                }
                Thread.sleep(5);
            }
            MemorySegment first = arena.allocate(FIRST_READ);
            assertEquals(FIRST_READ, SocketIo.receive(server.value(), first, 0));
            ByteBuf read = Unpooled.buffer();
            read.writeBytes(first.asByteBuffer());
            return read;
        }
    }

    private static byte[] bytes(ByteBuf buffer) {
        byte[] bytes = new byte[buffer.readableBytes()];
        buffer.readBytes(bytes);
        buffer.release();
        return bytes;
    }

    private static byte[] random(int length) {
        byte[] bytes = new byte[length];
        new Random(length).nextBytes(bytes);
        return bytes;
    }
}
