package dev.ferry.connect;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.util.concurrent.Promise;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens the backend side of a connection on the client's own event loop, so that both channels of
 * a pair are only ever touched by one thread.
 */
public final class BackendConnector {
    private static final Logger LOG = LoggerFactory.getLogger(BackendConnector.class);

    /** A connected backend channel and the endpoint it reached. */
    public record Connected(Channel channel, InetSocketAddress endpoint) {}

    /** Every endpoint refused or timed out; the message lists each attempt. */
    public static final class NoBackendException extends Exception {
        public NoBackendException(String message) {
            super(message, null, false, false);
        }
    }

    public Promise<Connected> connect(Cluster cluster, EventLoop loop) {
        Promise<Connected> result = loop.newPromise();
        tryNext(cluster, loop, cluster.attemptOrder(), 0, new ArrayList<>(), result);
        return result;
    }

    private void tryNext(Cluster cluster, EventLoop loop, List<InetSocketAddress> order, int index,
                         List<String> failures, Promise<Connected> result) {
        if (index == order.size()) {
            result.tryFailure(new NoBackendException(
                    "no endpoint of cluster " + cluster.name() + " accepted the connection: " + String.join("; ", failures)));
            return;
        }
        InetSocketAddress endpoint = order.get(index);
        ChannelFuture attempt = new Bootstrap()
                .group(loop)
                .channel(EpollSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, cluster.connectTimeout().toMillis()))
                // Nothing is read from a backend in user space before the handoff: a backend that
                // speaks first leaves its greeting queued for the data plane to forward in order.
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInboundHandlerAdapter())
                .connect(endpoint);
        attempt.addListener((ChannelFuture done) -> {
            if (done.isSuccess()) {
                if (!result.trySuccess(new Connected(done.channel(), endpoint))) {
                    done.channel().close();
                }
                return;
            }
            String reason = done.cause() == null ? "cancelled" : done.cause().getMessage();
            LOG.debug("connect to {} of cluster {} failed: {}", endpoint, cluster.name(), reason);
            failures.add(endpoint + ": " + reason);
            tryNext(cluster, loop, order, index + 1, failures, result);
        });
    }
}
