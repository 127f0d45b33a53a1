package dev.ferry.connect;

import dev.ferry.config.ProxyProtocol;
import dev.ferry.config.SocketBuffersConfig;
import dev.ferry.dataplane.EpollInterest;
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
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens the backend side of a connection on the client's own event loop, so that both channels of
 * a pair are only ever touched by one thread.
 *
 * <p>In order: the cluster admits the connection (its limits), picks the endpoints to try (load balancing,
 * health), and each is tried in turn until one accepts; a failed attempt moves on to the next, which is safe
 * because no byte has reached a backend yet. With {@code proxy_protocol}, the PROXY header is in the
 * backend's socket before the connection is handed back, so it precedes every client byte.
 */
public final class BackendConnector {
    private static final Logger LOG = LoggerFactory.getLogger(BackendConnector.class);

    private final SocketBuffersConfig socketBuffers;

    /** @param socketBuffers the buffer sizes of every backend socket (zero: autotuned) */
    public BackendConnector(SocketBuffersConfig socketBuffers) {
        this.socketBuffers = socketBuffers;
    }

    /**
     * A connected backend channel, the endpoint it reached, and the connection's place in the cluster's
     * counts, which the caller releases when the connection ends.
     */
    public record Connected(Channel channel, InetSocketAddress endpoint, Lease lease) {
        public void release() {
            lease.release();
        }
    }

    /**
     * The connection cannot be forwarded. {@link #reason()} is the label for stats: no_backend (every endpoint
     * tried failed), no_healthy_endpoint, cluster_max_connections, source_max_connections, client_closed.
     */
    public static final class NoBackendException extends Exception {
        private final String reason;

        public NoBackendException(String reason, String message) {
            super(message, null, false, false);
            this.reason = reason;
        }

        public NoBackendException(String message) {
            this("no_backend", message);
        }

        public String reason() {
            return reason;
        }
    }

    /** Connects with only the source address known: consistent hashing on sni or host falls back to it. */
    public Promise<Connected> connect(Cluster cluster, Channel client) {
        return connect(cluster, client, ConnectionKeys.ofSource((InetSocketAddress) client.remoteAddress()));
    }

    /**
     * @param client the accepted client channel: its event loop, and the destination of the PROXY header
     * @param keys what consistent hashing keys on; its source (the client, after any trusted inbound PROXY
     *     header) also counts against max_connections_per_source and is the PROXY header's source
     */
    public Promise<Connected> connect(Cluster cluster, Channel client, ConnectionKeys keys) {
        EventLoop loop = client.eventLoop();
        Promise<Connected> result = loop.newPromise();
        Lease lease;
        List<Endpoint> order;
        try {
            lease = cluster.admit(keys.source());
        } catch (NoBackendException refused) {
            result.setFailure(refused);
            return result;
        }
        try {
            order = cluster.attemptOrder(keys);
        } catch (NoBackendException refused) {
            lease.release();
            result.setFailure(refused);
            return result;
        }
        new Attempts(cluster, client, keys.source(), loop, order, lease, result, socketBuffers).tryNext(0);
        return result;
    }

    private record Attempts(Cluster cluster, Channel client, InetSocketAddress source, EventLoop loop,
                            List<Endpoint> order, Lease lease, Promise<Connected> result,
                            SocketBuffersConfig socketBuffers, List<String> failures) {

        Attempts(Cluster cluster, Channel client, InetSocketAddress source, EventLoop loop, List<Endpoint> order,
                 Lease lease, Promise<Connected> result, SocketBuffersConfig socketBuffers) {
            this(cluster, client, source, loop, order, lease, result, socketBuffers, new ArrayList<>());
        }

        void tryNext(int index) {
            if (!client.isActive() || result.isDone()) {
                lease.release();
                result.tryFailure(new NoBackendException("client_closed", "the client closed while connecting"));
                return;
            }
            if (index == order.size()) {
                lease.release();
                result.tryFailure(new NoBackendException("no_backend", "no endpoint of cluster " + cluster.name()
                        + " accepted the connection: " + String.join("; ", failures)));
                return;
            }
            Endpoint endpoint = order.get(index);
            endpoint.active.incrementAndGet();
            ChannelFuture attempt = new Bootstrap()
                    .group(loop)
                    .channel(EpollSocketChannel.class)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                            (int) Math.min(Integer.MAX_VALUE, cluster.connectTimeout().toMillis()))
                    // Nothing is read from a backend in user space before the handoff: a backend that
                    // speaks first leaves its greeting queued for the data plane to forward in order.
                    .option(ChannelOption.AUTO_READ, false)
                    .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    // TCP_NODELAY is Netty's default for epoll channels (NettyDefaultsTest): no call of our own.
                    // Set before connect(), so that the window scale in the SYN matches the buffer.
                    .option(ChannelOption.SO_RCVBUF, socketBuffers.backendReceive() > 0 ? socketBuffers.backendReceive() : null)
                    .option(ChannelOption.SO_SNDBUF, socketBuffers.backendSend() > 0 ? socketBuffers.backendSend() : null)
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(endpoint.address());
            attempt.addListener((ChannelFuture done) -> {
                if (!done.isSuccess()) {
                    failed(index, endpoint, done.cause() == null ? "cancelled" : done.cause().getMessage(), true);
                    return;
                }
                cluster.connectSucceeded(endpoint);
                Channel backend = done.channel();
                EpollInterest.keepRegistered(backend);
                if (cluster.proxyProtocol().isEmpty()) {
                    connected(backend, endpoint);
                    return;
                }
                ProxyProtocol version = cluster.proxyProtocol().get();
                backend.writeAndFlush(ProxyHeaderWriter.encode(version, source,
                        (InetSocketAddress) client.localAddress(), backend.alloc())).addListener((ChannelFuture written) -> {
                    if (written.isSuccess()) {
                        connected(backend, endpoint);
                    } else {
                        backend.close();
                        failed(index, endpoint, "cannot write the PROXY header: " + written.cause().getMessage(), false);
                    }
                });
            });
        }

        private void failed(int index, Endpoint endpoint, String reason, boolean connectFailure) {
            endpoint.active.decrementAndGet();
            if (connectFailure) {
                cluster.connectFailed(endpoint, reason);
            }
            LOG.debug("connect to {} of cluster {} failed: {}", endpoint.label(), cluster.name(), reason);
            failures.add(endpoint.label() + ": " + reason);
            tryNext(index + 1);
        }

        /**
         * Hands the backend on from a task of its own. Called back from inside Netty's {@code finishConnect()},
         * a handoff that closes the channel (the splice plane does) would make Netty fail its not yet cleared
         * connect promise with a fresh {@code ClosedChannelException}, stack trace and all, once per connection.
         */
        private void connected(Channel backend, Endpoint endpoint) {
            lease.bind(endpoint);
            try {
                loop.execute(() -> {
                    if (!result.trySuccess(new Connected(backend, endpoint.address(), lease))) {
                        backend.close();
                        lease.release();
                    }
                });
            } catch (RejectedExecutionException shuttingDown) {
                backend.close();
                lease.release();
                result.tryFailure(new NoBackendException("the event loop is shutting down"));
            }
        }
    }
}
