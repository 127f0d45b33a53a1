package dev.ferry.echo;

import dev.ferry.accept.EventLoops;
import dev.ferry.config.FlowConfig;
import dev.ferry.dataplane.copy.CopyDataPlane;
import dev.ferry.dataplane.sockmap.SockmapDataPlane;
import dev.ferry.dataplane.sockmap.SockmapKernel;
import dev.ferry.handoff.AccessLog;
import dev.ferry.handoff.ProxiedConnection;
import dev.ferry.stats.Stats;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * {@code ferry echo}: every accepted socket becomes its own sockmap peer, so the kernel echoes each
 * byte back and the JVM never reads one.
 */
public final class EchoServer implements AutoCloseable {
    private final SockmapKernel kernel;
    private final EventLoopGroup group;
    private final Channel serverChannel;
    private final Stats stats;
    private final AccessLog accessLog;

    private EchoServer(SockmapKernel kernel, EventLoopGroup group, Channel serverChannel, Stats stats,
                       AccessLog accessLog) {
        this.kernel = kernel;
        this.group = group;
        this.serverChannel = serverChannel;
        this.stats = stats;
        this.accessLog = accessLog;
    }

    public static EchoServer start(InetSocketAddress listen, int maxConnections, Duration idleTimeout) throws Exception {
        SockmapKernel kernel = SockmapKernel.load(maxConnections);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        Stats stats = new Stats();
        AccessLog accessLog = AccessLog.start(stats);
        SockmapDataPlane plane = new SockmapDataPlane(kernel, new CopyDataPlane(), FlowConfig.DEFAULT_MAX_IN_FLIGHT);
        try {
            Channel server = new ServerBootstrap()
                    .group(group)
                    .channel(EpollServerSocketChannel.class)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .childHandler(new ChannelInitializer<EpollSocketChannel>() {
                        @Override
                        protected void initChannel(EpollSocketChannel ch) {
                            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelActive(ChannelHandlerContext ctx) {
                                    ctx.pipeline().remove(this);
                                    stats.connectionAccepted("echo");
                                    ProxiedConnection connection = new ProxiedConnection("echo", ch.remoteAddress(),
                                            "echo", ch.localAddress(), 0, idleTimeout, System.nanoTime(), stats,
                                            accessLog);
                                    plane.echo(connection, ch);
                                }
                            });
                        }
                    })
                    .bind(listen).sync().channel();
            return new EchoServer(kernel, group, server, stats, accessLog);
        } catch (Exception | Error e) {
            EventLoops.shutDown(group);
            accessLog.close();
            kernel.close();
            throw e;
        }
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    public SockmapKernel kernel() {
        return kernel;
    }

    public Stats stats() {
        return stats;
    }

    @Override
    public void close() {
        serverChannel.close().syncUninterruptibly();
        EventLoops.shutDown(group);
        accessLog.close();
        kernel.close();
    }
}
