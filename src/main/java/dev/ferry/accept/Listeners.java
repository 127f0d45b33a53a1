package dev.ferry.accept;

import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bound listeners, by name, and their reconciliation with a new configuration: a listener whose address
 * and options stay only gets the new routes and clusters for its new connections; a new or moved one is bound
 * before anything changes (a failure there leaves everything as it was); a removed one stops accepting.
 * Connections already accepted are never touched: closing a server socket does not close its children.
 */
public final class Listeners implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Listeners.class);

    private final EventLoopGroup group;
    private final Map<String, ListenerServer> servers = new LinkedHashMap<>();

    public Listeners(EventLoopGroup group) {
        this.group = group;
    }

    /**
     * Makes the bound listeners those of {@code contexts}.
     *
     * @throws Exception when a new address cannot be bound; then nothing has changed
     */
    public synchronized void apply(List<ListenerContext> contexts) throws Exception {
        Map<String, ListenerServer> fresh = new LinkedHashMap<>();
        List<ListenerContext> rebind = new ArrayList<>();
        try {
            for (ListenerContext context : contexts) {
                String name = context.config().name();
                ListenerServer existing = servers.get(name);
                if (existing != null && sameBinding(existing, context)) {
                    continue;
                }
                InetSocketAddress wanted = context.config().address();
                if (existing != null && wanted.getPort() != 0
                        && (existing.binding().address().equals(wanted) || existing.localAddress().equals(wanted))) {
                    // Same address, other socket options: the old socket must go before the new can bind.
                    rebind.add(context);
                    continue;
                }
                fresh.put(name, ListenerServer.bind(context, group));
            }
        } catch (Exception | Error e) {
            fresh.values().forEach(ListenerServer::close);
            throw e;
        }
        List<String> names = contexts.stream().map(context -> context.config().name()).toList();
        for (String name : new ArrayList<>(servers.keySet())) {
            if (!names.contains(name)) {
                ListenerServer removed = servers.remove(name);
                removed.close();
                LOG.info("listener {} on {} removed", name, hostPort(removed.localAddress()));
            }
        }
        for (ListenerContext context : contexts) {
            String name = context.config().name();
            ListenerServer existing = servers.get(name);
            ListenerServer bound = fresh.get(name);
            if (bound != null) {
                servers.put(name, bound);
                if (existing != null) {
                    existing.close();
                }
                LOG.info("listener {} on {}{}", name, hostPort(bound.localAddress()), describe(bound));
            } else if (rebind.contains(context)) {
                existing.close();
                servers.remove(name);
                try {
                    ListenerServer rebound = ListenerServer.bind(context, group);
                    servers.put(name, rebound);
                    LOG.info("listener {} on {} rebound{}", name, hostPort(rebound.localAddress()), describe(rebound));
                } catch (Exception e) {
                    LOG.error("listener {}: cannot bind {} again: {}", name, context.config().address(), e.toString());
                }
            } else {
                existing.update(context);
            }
        }
    }

    private static boolean sameBinding(ListenerServer server, ListenerContext context) {
        return server.binding().address().equals(context.config().address())
                && server.binding().reusePort() == context.config().reusePort();
    }

    private static String describe(ListenerServer server) {
        return server.acceptors() > 1 ? " (reuse_port: " + server.acceptors() + " acceptors)" : "";
    }

    static String hostPort(InetSocketAddress address) {
        String host = address.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
    }

    public synchronized Optional<ListenerServer> get(String name) {
        return Optional.ofNullable(servers.get(name));
    }

    public synchronized List<String> names() {
        return List.copyOf(servers.keySet());
    }

    @Override
    public synchronized void close() {
        servers.values().forEach(ListenerServer::close);
        servers.clear();
    }
}
