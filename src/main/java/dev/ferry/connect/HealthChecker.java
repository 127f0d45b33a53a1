package dev.ferry.connect;

import dev.ferry.config.HealthCheckConfig;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollSocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Active health checks of one cluster: every {@code interval}, each endpoint without a check in flight gets
 * one: a TCP connect and, when configured, {@code send} written and {@code expect} awaited in the reply, all
 * within {@code timeout}. Results go to {@link Cluster#checked}, which applies rise and fall.
 */
final class HealthChecker implements AutoCloseable {
    /** A reply is searched for {@code expect} in at most this many bytes. */
    private static final int MAX_REPLY = 64 * 1024;

    private final Cluster cluster;
    private final HealthCheckConfig config;
    private final EventLoopGroup group;
    private final byte[] send;
    private final byte[] expect;
    private ScheduledFuture<?> rounds;

    HealthChecker(Cluster cluster, HealthCheckConfig config, EventLoopGroup group) {
        this.cluster = cluster;
        this.config = config;
        this.group = group;
        this.send = config.send().map(s -> s.getBytes(StandardCharsets.UTF_8)).orElse(new byte[0]);
        this.expect = config.expect().map(s -> s.getBytes(StandardCharsets.UTF_8)).orElse(new byte[0]);
    }

    void start() {
        long every = config.interval().toMillis();
        rounds = group.next().scheduleWithFixedDelay(this::round, 0, every, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        if (rounds != null) {
            rounds.cancel(false);
        }
    }

    private void round() {
        if (cluster.closed()) {
            return;
        }
        for (Endpoint endpoint : cluster.endpoints()) {
            if (!endpoint.checkInFlight) {
                endpoint.checkInFlight = true;
                new Check(endpoint, group.next()).start();
            }
        }
    }

    /** One check of one endpoint; every step runs on {@code loop}. */
    private final class Check extends ChannelInboundHandlerAdapter {
        private final Endpoint endpoint;
        private final EventLoop loop;
        private final byte[] reply = new byte[Math.min(MAX_REPLY, Math.max(64, expect.length * 4))];
        private int replyLength;
        private boolean done;
        private Channel channel;
        private ScheduledFuture<?> deadline;

        Check(Endpoint endpoint, EventLoop loop) {
            this.endpoint = endpoint;
            this.loop = loop;
        }

        void start() {
            loop.execute(() -> {
                long timeoutMillis = config.timeout().toMillis();
                deadline = loop.schedule(() -> finish(false, "timed out after " + config.timeout().toMillis() + " ms"),
                        timeoutMillis, TimeUnit.MILLISECONDS);
                ChannelFuture connect = new Bootstrap()
                        .group(loop)
                        .channel(EpollSocketChannel.class)
                        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeoutMillis))
                        // TCP_NODELAY is Netty's default for epoll channels (NettyDefaultsTest): no call of our own.
                        .handler(this)
                        .connect(endpoint.address());
                channel = connect.channel();
                connect.addListener((ChannelFuture connected) -> {
                    if (!connected.isSuccess()) {
                        finish(false, connected.cause() == null ? "connect cancelled" : connected.cause().getMessage());
                    }
                });
            });
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (send.length > 0) {
                ctx.writeAndFlush(Unpooled.wrappedBuffer(send)).addListener((ChannelFuture written) -> {
                    if (!written.isSuccess()) {
                        finish(false, "cannot send: " + written.cause().getMessage());
                    } else if (expect.length == 0) {
                        finish(true, "");
                    }
                });
            } else if (expect.length == 0) {
                finish(true, "");
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf bytes = (ByteBuf) msg;
            try {
                int n = Math.min(bytes.readableBytes(), reply.length - replyLength);
                bytes.readBytes(reply, replyLength, n);
                replyLength += n;
            } finally {
                bytes.release();
            }
            if (contains(reply, replyLength, expect)) {
                finish(true, "");
            } else if (replyLength == reply.length) {
                finish(false, "reply does not contain the expected bytes within " + reply.length + " bytes");
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            finish(false, replyLength == 0 ? "closed without a reply" : "closed before the expected reply");
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            finish(false, cause.getMessage());
        }

        private void finish(boolean passed, String failure) {
            if (done) {
                return;
            }
            done = true;
            if (deadline != null) {
                deadline.cancel(false);
            }
            if (channel != null) {
                channel.close();
            }
            endpoint.checkInFlight = false;
            cluster.checked(endpoint, passed, failure);
        }
    }

    static boolean contains(byte[] data, int length, byte[] pattern) {
        if (pattern.length == 0) {
            return true;
        }
        outer:
        for (int i = 0; i + pattern.length <= length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (data[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    @Override
    public String toString() {
        return "health checks of " + cluster.name() + " every " + config.interval() + " " + Arrays.toString(send);
    }
}
