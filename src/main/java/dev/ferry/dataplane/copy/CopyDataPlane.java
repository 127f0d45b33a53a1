package dev.ferry.dataplane.copy;

import dev.ferry.handoff.DataPlane;
import dev.ferry.handoff.ProxiedConnection;
import io.netty.channel.Channel;

/**
 * Forwards through user space with Netty: a read from one side becomes a write to the other, and
 * reading pauses while the other side is not writable, so the memory a connection holds is bounded
 * by the channels' write buffer water marks.
 */
public final class CopyDataPlane implements DataPlane {

    @Override
    public String name() {
        return "copy";
    }

    @Override
    public void forward(ProxiedConnection connection, Channel client, Channel backend) {
        CopyPair pair = new CopyPair(connection, client, backend);
        pair.start();
    }
}
