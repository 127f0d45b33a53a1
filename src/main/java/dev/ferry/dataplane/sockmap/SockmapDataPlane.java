package dev.ferry.dataplane.sockmap;

import dev.ferry.bpf.BpfException;
import dev.ferry.handoff.DataPlane;
import dev.ferry.handoff.ProxiedConnection;
import io.netty.channel.Channel;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands both sockets of a pair to the kernel: the verdict program redirects every byte either socket
 * receives to the other's egress, and the JVM only watches for the end.
 *
 * <p>A pair the kernel refuses (a client that already sent its FIN cannot join a sockmap, a full
 * map) is served by the fallback plane instead; each reason is logged once and counted always.
 */
public final class SockmapDataPlane implements DataPlane {
    private static final Logger LOG = LoggerFactory.getLogger(SockmapDataPlane.class);

    private final SockmapKernel kernel;
    private final DataPlane fallback;
    private final Set<String> reasonsLogged = ConcurrentHashMap.newKeySet();

    public SockmapDataPlane(SockmapKernel kernel, DataPlane fallback) {
        this.kernel = kernel;
        this.fallback = fallback;
    }

    @Override
    public String name() {
        return "sockmap";
    }

    @Override
    public void forward(ProxiedConnection connection, Channel client, Channel backend) {
        SockmapPair pair = new SockmapPair(kernel, connection, client, backend);
        try {
            pair.start();
        } catch (BpfException | java.io.IOException e) {
            String reason = e instanceof BpfException bpf ? bpf.errnoName() : e.getClass().getSimpleName();
            connection.stats().increment("ferry_sockmap_fallback_total{reason=\"" + reason + "\"}");
            if (reasonsLogged.add(reason)) {
                LOG.warn("sockmap refused a pair ({}); such connections use the {} plane: {}",
                        reason, fallback.name(), e.getMessage());
            }
            fallback.forward(connection, client, backend);
        }
    }

    /**
     * The seed's demo: the socket is its own peer, so the kernel sends every byte back to where it
     * came from. There is no fallback: a socket the kernel refuses is closed, with the reason logged.
     */
    public void echo(ProxiedConnection connection, Channel socket) {
        SockmapPair pair = new SockmapPair(kernel, connection, socket, socket);
        try {
            pair.start();
        } catch (BpfException | java.io.IOException e) {
            LOG.warn("echo: the kernel refused {}: {}", socket.remoteAddress(), e.getMessage());
            socket.close();
            connection.end(name(), dev.ferry.handoff.ConnectionEnd.FORWARDING_ERROR, 0, 0);
        }
    }
}
