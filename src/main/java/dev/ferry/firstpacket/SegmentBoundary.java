package dev.ferry.firstpacket;

import dev.ferry.sys.Errno;
import dev.ferry.sys.SocketIo;
import io.netty.buffer.ByteBuf;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Reads on after a first-packet read that filled its buffer, until the client socket's queue is
 * empty, so that the data plane starts at a segment boundary.
 *
 * <p>A read that fills its buffer may stop inside a queued segment. The sockmap verdict is handed
 * queued segments whole, so it would forward that segment's first part a second time. A read that
 * returns less than it asked for has taken every queued segment whole (recv stops early only when
 * the queue is empty), so what is queued after it starts at a boundary.
 */
final class SegmentBoundary {
    /**
     * Larger than a client socket's receive buffer before the handoff (Ferry has barely read, so
     * autotuning has not grown it from tcp_rmem's default, 128 KiB), so that one read can take all
     * that is queued even while the client keeps sending.
     */
    private static final int CHUNK = 256 * 1024;

    private SegmentBoundary() {}

    /**
     * Appends what is queued on {@code fd} to {@code into}, at most {@code limit} bytes.
     *
     * @return true when the queue was left at a segment boundary (emptied, or at the end of the
     *         stream); false when the limit was reached first or the socket failed, and the caller
     *         must assume a segment is split
     */
    static boolean readOn(int fd, ByteBuf into, int limit) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment chunk = arena.allocate(CHUNK);
            int total = 0;
            while (total < limit) {
                MemorySegment request = chunk.asSlice(0, Math.min(CHUNK, limit - total));
                long n = SocketIo.receive(fd, request, 0);
                if (n == -Errno.EAGAIN || n == 0) {
                    return true;
                }
                if (n < 0) {
                    return false;
                }
                into.writeBytes(request.asSlice(0, n).asByteBuffer());
                total += (int) n;
                if (n < request.byteSize()) {
                    return true;
                }
            }
            return false;
        }
    }
}
