package dev.ferry.accept;

import dev.ferry.config.ListenerConfig;
import dev.ferry.config.SocketBuffersConfig;
import dev.ferry.firstpacket.FirstPacketHandler;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.util.concurrent.EventExecutor;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * Binds one listener; every accepted connection starts with a {@link FirstPacketHandler} built from the
 * listener's current {@link ListenerContext}, which a reload replaces for new connections only.
 *
 * <p>With {@code reuse_port}, one server socket per acceptor (one per core, each on its own event loop) is bound
 * to the same address with {@code SO_REUSEPORT}: the kernel spreads new connections over them, and each
 * connection stays on the event loop that accepted it.
 */
public final class ListenerServer implements AutoCloseable {
    /** Filled while binding, before the object is returned; never changed after. */
    private final List<Channel> serverChannels;
    private final ListenerConfig binding;
    private volatile ListenerContext context;

    private ListenerServer(ListenerContext context) {
        this.serverChannels = new ArrayList<>();
        this.binding = context.config();
        this.context = context;
    }

    public static ListenerServer bind(ListenerContext context, EventLoopGroup group) throws InterruptedException {
        ListenerConfig config = context.config();
        ListenerServer self = new ListenerServer(context);
        List<Channel> channels = self.serverChannels;
        ChannelInitializer<EpollSocketChannel> initializer = new ChannelInitializer<>() {
            @Override
            protected void initChannel(EpollSocketChannel ch) {
                ch.pipeline().addLast("first-packet", new FirstPacketHandler(self.context));
            }
        };
        try {
            if (!config.reusePort()) {
                channels.add(bootstrap(group, group, initializer, false, context.socketBuffers())
                        .bind(config.address()).sync().channel());
            } else {
                InetSocketAddress address = config.address();
                for (EventLoop loop : acceptorLoops(group)) {
                    Channel channel = bootstrap(loop, loop, initializer, true, context.socketBuffers())
                            .bind(address).sync().channel();
                    channels.add(channel);
                    // Port 0: every further socket joins the port the first one got.
                    address = new InetSocketAddress(config.address().getAddress(),
                            ((InetSocketAddress) channel.localAddress()).getPort());
                }
            }
        } catch (InterruptedException | RuntimeException e) {
            channels.forEach(channel -> channel.close().syncUninterruptibly());
            throw e;
        }
        return self;
    }

    private static ServerBootstrap bootstrap(EventLoopGroup parent, EventLoopGroup children,
                                             ChannelInitializer<EpollSocketChannel> initializer, boolean reusePort,
                                             SocketBuffersConfig buffers) {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(parent, children)
                .channel(EpollServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                // TCP_NODELAY is Netty's default for epoll channels (NettyDefaultsTest): no call of our own.
                // First reads large enough to take a client's first flight whole: a read that stops
                // inside a queued segment keeps the pair off the sockmap plane (SockmapDataPlane).
                .childOption(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(1024, 16 * 1024, 64 * 1024))
                .childHandler(initializer);
        if (reusePort) {
            bootstrap.option(EpollChannelOption.SO_REUSEPORT, true);
        }
        if (buffers.clientReceive() > 0) {
            // On the listening socket only: an accepted socket inherits the size (and its lock
            // against autotuning) without a call of its own, and the window scale its SYN-ACK
            // announces already matches it.
            bootstrap.option(ChannelOption.SO_RCVBUF, buffers.clientReceive());
        }
        if (buffers.clientSend() > 0) {
            // Netty's server channel takes no SO_SNDBUF, so each accepted socket gets its own.
            bootstrap.childOption(ChannelOption.SO_SNDBUF, buffers.clientSend());
        }
        return bootstrap;
    }

    /** One event loop per core, or every loop when the group has fewer. */
    static List<EventLoop> acceptorLoops(EventLoopGroup group) {
        int cores = Runtime.getRuntime().availableProcessors();
        List<EventLoop> loops = new ArrayList<>();
        for (EventExecutor executor : group) {
            if (loops.size() == cores) {
                break;
            }
            loops.add((EventLoop) executor);
        }
        return loops;
    }

    /** New connections from now on use {@code next}; the address and reuse_port stay those bound. */
    public void update(ListenerContext next) {
        this.context = next;
    }

    public ListenerContext context() {
        return context;
    }

    /** The configuration the sockets were bound with. */
    public ListenerConfig binding() {
        return binding;
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) serverChannels.getFirst().localAddress();
    }

    /** How many sockets accept for this listener: 1, or one per acceptor with reuse_port. */
    public int acceptors() {
        return serverChannels.size();
    }

    /** Stops accepting; connections already accepted are not touched. */
    @Override
    public void close() {
        serverChannels.forEach(channel -> channel.close().syncUninterruptibly());
    }
}
