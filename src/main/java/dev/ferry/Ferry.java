package dev.ferry;

import dev.ferry.accept.ListenerContext;
import dev.ferry.accept.ListenerServer;
import dev.ferry.admin.AdminServer;
import dev.ferry.config.ClusterConfig;
import dev.ferry.config.FerryConfig;
import dev.ferry.config.ListenerConfig;
import dev.ferry.connect.BackendConnector;
import dev.ferry.connect.Cluster;
import dev.ferry.dataplane.copy.CopyDataPlane;
import dev.ferry.dataplane.sockmap.SockmapDataPlane;
import dev.ferry.dataplane.sockmap.SockmapKernel;
import dev.ferry.handoff.DataPlane;
import dev.ferry.handoff.Handoff;
import dev.ferry.route.Router;
import dev.ferry.stats.Stats;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Ferry: its listeners, the kernel side of the sockmap plane and the admin endpoint.
 * Closing it closes every connection, removes every map entry and unloads the program.
 */
public final class Ferry implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Ferry.class);

    private final Stats stats;
    private final EventLoopGroup group;
    private final SockmapKernel kernel;
    private final Map<String, ListenerServer> listeners;
    private final AdminServer admin;

    private Ferry(Stats stats, EventLoopGroup group, SockmapKernel kernel, Map<String, ListenerServer> listeners,
                  AdminServer admin) {
        this.stats = stats;
        this.group = group;
        this.kernel = kernel;
        this.listeners = listeners;
        this.admin = admin;
    }

    public static Ferry start(FerryConfig config) throws Exception {
        Stats stats = new Stats();
        SockmapKernel kernel = SockmapKernel.load(Math.multiplyExact(config.sockmap().maxConnections(), 2));
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(EpollIoHandler.newFactory());
        Map<String, ListenerServer> bound = new HashMap<>();
        AdminServer admin = null;
        try {
            DataPlane plane = new SockmapDataPlane(kernel, new CopyDataPlane());
            LOG.info("data plane: sockmap (the kernel forwards every byte after the first packet)");
            Handoff handoff = new Handoff(plane);
            Map<String, Cluster> clusters = new HashMap<>();
            for (ClusterConfig cluster : config.clusters()) {
                clusters.put(cluster.name(), new Cluster(cluster));
            }
            BackendConnector connector = new BackendConnector();
            for (ListenerConfig listener : config.listeners()) {
                ListenerContext context = new ListenerContext(listener, Router.of(listener.routes()), clusters,
                        connector, handoff, stats);
                ListenerServer server = ListenerServer.bind(context, group);
                bound.put(listener.name(), server);
                LOG.info("listener {} on {}", listener.name(), server.localAddress());
            }
            if (config.admin().isPresent()) {
                admin = AdminServer.start(config.admin().get(), stats, () -> kernelGauges(kernel));
                LOG.info("admin on http://{}/stats", hostPort(admin.address()));
            }
            return new Ferry(stats, group, kernel, Map.copyOf(bound), admin);
        } catch (Exception | Error e) {
            bound.values().forEach(ListenerServer::close);
            group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
            kernel.close();
            throw e;
        }
    }

    private static String kernelGauges(SockmapKernel kernel) {
        SockmapKernel.MapOccupancy occupancy = kernel.occupancy();
        return "ferry_sockmap_sources_entries " + occupancy.sockSources() + "\n"
                + "ferry_sockmap_targets_entries " + occupancy.sockTargets() + "\n"
                + "ferry_sockmap_conns_entries " + occupancy.conns() + "\n";
    }

    private static String hostPort(InetSocketAddress address) {
        return address.getHostString() + ":" + address.getPort();
    }

    public Stats stats() {
        return stats;
    }

    public SockmapKernel kernel() {
        return kernel;
    }

    public Optional<InetSocketAddress> adminAddress() {
        return Optional.ofNullable(admin).map(AdminServer::address);
    }

    public InetSocketAddress listenerAddress(String name) {
        ListenerServer server = listeners.get(name);
        if (server == null) {
            throw new IllegalArgumentException("no listener named " + name);
        }
        return server.localAddress();
    }

    @Override
    public void close() {
        List<Runnable> steps = new ArrayList<>();
        if (admin != null) {
            steps.add(admin::close);
        }
        listeners.values().forEach(listener -> steps.add(listener::close));
        // Closing the loops closes every channel, and each pair removes its own map entries on close.
        steps.add(() -> group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly());
        steps.add(kernel::close);
        RuntimeException failure = null;
        for (Runnable step : steps) {
            try {
                step.run();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

}
