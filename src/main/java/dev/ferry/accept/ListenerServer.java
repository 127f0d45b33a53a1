package dev.ferry.accept;

import dev.ferry.firstpacket.FirstPacketHandler;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import java.net.InetSocketAddress;

/** Binds one listener; every accepted connection starts with a {@link FirstPacketHandler}. */
public final class ListenerServer implements AutoCloseable {
    private final Channel serverChannel;

    private ListenerServer(Channel serverChannel) {
        this.serverChannel = serverChannel;
    }

    public static ListenerServer bind(ListenerContext context, EventLoopGroup group) throws InterruptedException {
        Channel channel = new ServerBootstrap()
                .group(group)
                .channel(EpollServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<EpollSocketChannel>() {
                    @Override
                    protected void initChannel(EpollSocketChannel ch) {
                        ch.pipeline().addLast("first-packet", new FirstPacketHandler(context));
                    }
                })
                .bind(context.config().address())
                .sync()
                .channel();
        return new ListenerServer(channel);
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    @Override
    public void close() {
        serverChannel.close().syncUninterruptibly();
    }
}
