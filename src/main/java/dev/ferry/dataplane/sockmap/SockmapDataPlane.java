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
    private final long maxInFlight;
    private final Set<String> reasonsLogged = ConcurrentHashMap.newKeySet();

    /**
     * @param maxInFlight per connection and direction, the bytes sent towards a peer and not yet
     *                    acknowledged by it beyond which the sender is held back (0: no limit)
     */
    public SockmapDataPlane(SockmapKernel kernel, DataPlane fallback, long maxInFlight) {
        this.kernel = kernel;
        this.fallback = fallback;
        this.maxInFlight = maxInFlight;
    }

    @Override
    public String name() {
        return "sockmap";
    }

    @Override
    public boolean needsSegmentBoundary() {
        return true;
    }

    @Override
    public void forward(ProxiedConnection connection, Channel client, Channel backend) {
        if (connection.readMayHaveSplitASegment()) {
            // The verdict would see that segment whole and count its first part twice, so the end of
            // the stream could not be matched against what the client sent.
            fallBack(connection, client, backend, "split_first_read",
                    "the first-packet read may have ended inside a queued segment");
            return;
        }
        SockmapPair pair = new SockmapPair(kernel, connection, client, backend, maxInFlight);
        try {
            pair.start();
        } catch (SockmapKernel.KickFailedException e) {
            // The sockets were in the maps: no other plane may take them. Reset, never splice.
            reset(connection, client, backend, "SO_RCVLOWAT", "setting SO_RCVLOWAT on an inserted pair failed",
                    e.getMessage(), 0, 0);
        } catch (ForwardedBeforeRefusalException e) {
            long toBackend = e.forwardedFrom(pair.clientCookie());
            long toClient = e.forwardedFrom(pair.backendCookie());
            if (pair.forwardedBytesArrived(e)) {
                // Every forwarded byte is in its target's send queue: the fallback plane goes on from there.
                connection.forwardedBeforeFallback(toBackend, toClient);
                String reason = e.refusal().errnoName();
                fallBack(connection, client, backend, reason, e.getMessage() + meaningOf(reason));
                return;
            }
            reset(connection, client, backend, "forwarded_then_refused",
                    "a pair was refused after bytes had been forwarded that had not all arrived", e.getMessage(),
                    toBackend, toClient);
        } catch (BpfException | java.io.IOException e) {
            String reason = switch (e) {
                case BpfException bpf -> bpf.errnoName();
                case NotEstablishedException notEstablished -> NotEstablishedException.REASON;
                default -> e.getClass().getSimpleName();
            };
            fallBack(connection, client, backend, reason, e.getMessage() + meaningOf(reason));
        }
    }

    /**
     * Resets a pair that no plane may take: counted always under {@code reason}, logged once per reason. The
     * access line counts what the kernel forwarded before ({@code toBackend} beyond the first packet).
     */
    private void reset(ProxiedConnection connection, Channel client, Channel backend, String reason, String what,
                       String detail, long toBackend, long toClient) {
        connection.stats().increment("ferry_sockmap_insert_failures_total{reason=\"" + reason + "\"}");
        if (reasonsLogged.add(reason)) {
            LOG.error("sockmap: {}; such connections are reset: {}", what, detail);
        }
        for (Channel channel : new Channel[] {client, backend}) {
            channel.config().setOption(io.netty.channel.ChannelOption.SO_LINGER, 0);
            channel.close();
        }
        connection.end(name(), dev.ferry.handoff.ConnectionEnd.FORWARDING_ERROR,
                connection.consumedFromClient() + toBackend, toClient);
    }

    /** What the kernel's refusal says about the connection, for an operator reading the log. */
    private static String meaningOf(String errno) {
        return switch (errno) {
            case "EOPNOTSUPP" -> " (a socket was no longer ESTABLISHED: the client or the backend had already"
                    + " sent its FIN, e.g. a backend that answers and closes at once)";
            case "E2BIG" -> " (the maps are full: sockmap.max_connections pairs are in them)";
            default -> "";
        };
    }

    /** Serves a pair the kernel cannot take by the fallback plane: counted always, logged once per reason. */
    private void fallBack(ProxiedConnection connection, Channel client, Channel backend, String reason, String detail) {
        connection.stats().increment("ferry_sockmap_fallback_total{reason=\"" + reason + "\"}");
        if (reasonsLogged.add(reason)) {
            LOG.warn("sockmap refused a pair ({}); such connections use the {} plane: {}", reason, fallback.name(), detail);
        }
        fallback.forward(connection, client, backend);
    }

    /**
     * The seed's demo: the socket is its own peer, so the kernel sends every byte back to where it
     * came from. There is no fallback: a socket the kernel refuses is closed, with the reason logged.
     */
    public void echo(ProxiedConnection connection, Channel socket) {
        SockmapPair pair = new SockmapPair(kernel, connection, socket, socket, maxInFlight);
        try {
            pair.start();
        } catch (BpfException | java.io.IOException e) {
            LOG.warn("echo: sockmap refused {}: {}", socket.remoteAddress(), e.getMessage());
            socket.close();
            connection.end(name(), dev.ferry.handoff.ConnectionEnd.FORWARDING_ERROR, 0, 0);
        }
    }
}
