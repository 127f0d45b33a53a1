package dev.ferry;

import dev.ferry.accept.EventLoops;
import dev.ferry.accept.Routing;
import dev.ferry.admin.AdminServer;
import dev.ferry.config.FerryConfig;
import dev.ferry.config.ListenerConfig;
import dev.ferry.connect.Cluster;
import dev.ferry.connect.Resolver;
import dev.ferry.dataplane.DataPlanes;
import dev.ferry.dataplane.sockmap.SockmapDataPlane;
import dev.ferry.dataplane.sockmap.SockmapKernel;
import dev.ferry.handoff.AccessLog;
import dev.ferry.handoff.DataPlane;
import dev.ferry.handoff.Handoff;
import dev.ferry.stats.Stats;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.net.InetSocketAddress;
import java.util.ArrayList;
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
    private final AccessLog accessLog;
    private final EventLoopGroup group;
    private final DataPlanes planes;
    private final Routing routing;
    private final AdminServer admin;
    /** The configuration running; replaced by each successful {@link #reload}. */
    private volatile FerryConfig config;

    private Ferry(Stats stats, AccessLog accessLog, EventLoopGroup group, DataPlanes planes, Routing routing,
                  AdminServer admin, FerryConfig config) {
        this.stats = stats;
        this.accessLog = accessLog;
        this.group = group;
        this.planes = planes;
        this.routing = routing;
        this.admin = admin;
        this.config = config;
    }

    public static Ferry start(FerryConfig config) throws Exception {
        Stats stats = new Stats();
        DataPlanes planes = DataPlanes.open(config,
                (kernel, fallback) -> new SockmapDataPlane(kernel, fallback, config.flow().maxInFlight()));
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(EpollIoHandler.newFactory());
        AccessLog accessLog = AccessLog.start(stats);
        Routing routing = null;
        AdminServer admin = null;
        try {
            String firstListener = config.listeners().getFirst().name();
            routing = new Routing(group, stats, accessLog,
                    listener -> new Handoff(planeOf(planes, listener, firstListener)), Resolver.SYSTEM,
                    config.socketBuffers());
            SocketBufferLimits.warnAboveKernelCaps(config.socketBuffers());
            routing.apply(config);
            for (ListenerConfig listener : config.listeners()) {
                LOG.info("listener {}: data plane {}", listener.name(), planes.forListener(listener.name()).name());
            }
            if (config.admin().isPresent()) {
                Routing gauges = routing;
                admin = AdminServer.start(config.admin().get(), stats,
                        () -> planes.kernel().map(Ferry::kernelGauges).orElse("") + gauges.gauges());
                LOG.info("admin on http://{}/stats", hostPort(admin.address()));
            }
            return new Ferry(stats, accessLog, group, planes, routing, admin, config);
        } catch (Exception | Error e) {
            if (routing != null) {
                routing.close();
            }
            EventLoops.shutDown(group);
            accessLog.close();
            planes.close();
            throw e;
        }
    }

    /**
     * Planes are chosen at start; a listener added by a reload gets the plane of the first listener at start.
     */
    private static DataPlane planeOf(DataPlanes planes, ListenerConfig listener, String firstListener) {
        try {
            return planes.forListener(listener.name());
        } catch (IllegalArgumentException addedByReload) {
            DataPlane plane = planes.forListener(firstListener);
            LOG.warn("listener {} is new since start: it uses the data plane of listener {}, {}", listener.name(),
                    firstListener, plane.name());
            return plane;
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

    /** The kernel side of the sockmap plane; empty when no listener may use that plane. */
    public Optional<SockmapKernel> kernel() {
        return planes.kernel();
    }

    public Optional<InetSocketAddress> adminAddress() {
        return Optional.ofNullable(admin).map(AdminServer::address);
    }

    public InetSocketAddress listenerAddress(String name) {
        return routing.listenerAddress(name).orElseThrow(() -> new IllegalArgumentException("no listener named " + name));
    }

    /** The running clusters by name. */
    public Map<String, Cluster> clusters() {
        return routing.clusters();
    }

    /** The listeners, routes and clusters in force, for tests and tools. */
    public Routing routing() {
        return routing;
    }

    public FerryConfig config() {
        return config;
    }

    /**
     * Applies a new configuration to new connections: listeners, routes and clusters. Established connections
     * are untouched. Settings fixed at start (sockmap size, admin address, flow control, data planes) keep
     * their running values, with a warning when the new file changes them.
     *
     * @throws Exception when the new configuration cannot be applied (a router fails to build, an address
     *     cannot be bound); the running configuration then stays in force, unchanged
     */
    public synchronized void reload(FerryConfig next) throws Exception {
        FerryConfig running = config;
        List<String> fixed = new ArrayList<>();
        if (!next.sockmap().equals(running.sockmap())) {
            fixed.add("sockmap");
        }
        if (!next.admin().equals(running.admin())) {
            fixed.add("admin");
        }
        if (!next.flow().equals(running.flow())) {
            fixed.add("flow");
        }
        if (!next.dataplane().equals(running.dataplane())) {
            fixed.add("dataplane");
        }
        if (!next.socketBuffers().equals(running.socketBuffers())) {
            fixed.add("socket_buffers");
        }
        if (!fixed.isEmpty()) {
            LOG.warn("reload: {} changed, which takes effect only on restart; keeping the running values",
                    String.join(", ", fixed));
        }
        routing.apply(next);
        config = next;
    }

    @Override
    public void close() {
        List<Runnable> steps = new ArrayList<>();
        if (admin != null) {
            steps.add(admin::close);
        }
        steps.add(routing::close);
        // Closing the loops closes every channel, and each pair removes its own map entries on close.
        steps.add(() -> EventLoops.shutDown(group));
        // After the loops: closing them ended every connection, whose lines are written now.
        steps.add(accessLog::close);
        steps.add(planes::close);
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
