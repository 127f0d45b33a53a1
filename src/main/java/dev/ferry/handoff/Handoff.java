package dev.ferry.handoff;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;

/**
 * The step between connect and forward: the bytes Ferry consumed while deciding go to the backend
 * first, and only when they are in the kernel does the data plane take both sockets. That order is
 * what keeps the stream intact across the handoff.
 */
public final class Handoff {
    private final DataPlane plane;

    public Handoff(DataPlane plane) {
        this.plane = plane;
    }

    public DataPlane plane() {
        return plane;
    }

    /** Takes ownership of both channels and of {@code consumed}. */
    public void start(ProxiedConnection connection, Channel client, Channel backend, ByteBuf consumed) {
        connection.stats().connectionForwarded(connection.listener(), plane.name());
        if (!consumed.isReadable()) {
            consumed.release();
            plane.forward(connection, client, backend);
            return;
        }
        backend.writeAndFlush(consumed).addListener((ChannelFuture written) -> {
            if (written.isSuccess()) {
                plane.forward(connection, client, backend);
            } else {
                client.config().setOption(ChannelOption.SO_LINGER, 0);
                client.close();
                backend.close();
                connection.end(plane.name(), ConnectionEnd.BACKEND_RESET, 0, 0);
            }
        });
    }
}
