package dev.ferry.connect;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import java.net.InetAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What Ferry's bootstraps leave to Netty instead of setting themselves. */
@Timeout(30)
class NettyDefaultsTest {

    /**
     * ListenerServer, BackendConnector and HealthChecker ask for no TCP_NODELAY: both kinds of socket must have
     * it already.
     */
    @Test
    void acceptedAndConnectingEpollSocketsHaveNagleOff() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        try {
            CompletableFuture<Boolean> acceptedNoDelay = new CompletableFuture<>();
            Channel server = new ServerBootstrap()
                    .group(group)
                    .channel(EpollServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<EpollSocketChannel>() {
                        @Override
                        protected void initChannel(EpollSocketChannel accepted) {
                            // read back from the kernel (getsockopt), not from a setting Netty remembers
                            acceptedNoDelay.complete(accepted.config().isTcpNoDelay());
                        }
                    })
                    .bind(InetAddress.getLoopbackAddress(), 0).sync().channel();
            EpollSocketChannel client = (EpollSocketChannel) new Bootstrap()
                    .group(group)
                    .channel(EpollSocketChannel.class)
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(server.localAddress()).sync().channel();
            try {
                assertTrue(client.config().isTcpNoDelay(), "the connecting socket has Nagle's algorithm on");
                assertTrue(acceptedNoDelay.get(10, TimeUnit.SECONDS), "the accepted socket has Nagle's algorithm on");
            } finally {
                client.close().sync();
                server.close().sync();
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }
}
