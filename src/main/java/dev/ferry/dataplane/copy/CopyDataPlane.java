package dev.ferry.dataplane.copy;

import dev.ferry.dataplane.EpollInterest;
import dev.ferry.handoff.DataPlane;
import dev.ferry.handoff.ProxiedConnection;
import io.netty.channel.Channel;
import io.netty.channel.WriteBufferWaterMark;

/**
 * Forwards through user space with Netty: a read from one side becomes a write to the other, and
 * reading pauses while the other side is not writable, so the memory a connection holds is bounded
 * by the channels' write buffer water marks.
 */
public final class CopyDataPlane implements DataPlane {
    /** The default high water mark: Netty's own. */
    public static final int DEFAULT_BUFFER_BYTES = 64 * 1024;

    private final WriteBufferWaterMark waterMark;

    public CopyDataPlane() {
        this(DEFAULT_BUFFER_BYTES);
    }

    /**
     * @param bufferBytes per connection and direction, the bytes queued towards a side beyond which
     *                    the other side is no longer read; a direction holds at most this plus one
     *                    read (at most 64 KiB)
     */
    public CopyDataPlane(int bufferBytes) {
        this.waterMark = new WriteBufferWaterMark(bufferBytes / 2, bufferBytes);
    }

    @Override
    public String name() {
        return "copy";
    }

    @Override
    public void forward(ProxiedConnection connection, Channel client, Channel backend) {
        for (Channel channel : new Channel[] {client, backend}) {
            channel.config().setWriteBufferWaterMark(waterMark);
            EpollInterest.forCopy(channel);
        }
        CopyPair pair = new CopyPair(connection, client, backend);
        pair.start();
    }
}
