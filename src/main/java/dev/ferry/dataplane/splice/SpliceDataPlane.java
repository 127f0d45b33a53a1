package dev.ferry.dataplane.splice;

import dev.ferry.handoff.DataPlane;
import dev.ferry.handoff.ProxiedConnection;
import dev.ferry.stats.Stats;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import java.io.IOException;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forwards with splice(2) through a pipe per busy direction: the kernel moves the bytes from one
 * socket into the pipe and from the pipe into the other socket, without copying them through user
 * space, and the event loop of the pair drives both moves from epoll readiness.
 *
 * <p>What a connection holds is bounded by its pipes; a full pipe whose target cannot take more
 * stops the reads from the source, so TCP's window holds the sender back. Pipes come from a pool per
 * event loop ({@link PipePool}) and are held only while they hold bytes. A connection for which no
 * pipe can be made at the handoff (descriptor limits) is served by the fallback plane, counted and
 * logged once per reason; a direction that cannot get one later waits, its bytes left in the
 * kernel's socket buffers, and tries again.
 *
 * <p>Only sockets that were never in a sockmap may be spliced (KERNEL-NOTES): the sockmap plane
 * hands a pair here only when its insertion failed and was undone.
 */
public final class SpliceDataPlane implements DataPlane, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SpliceDataPlane.class);
    static final String BUFFERED = "ferry_dataplane_buffered_bytes{plane=\"splice\"}";
    /** The errno name in the messages of dev.ferry.sys: "pipe2 failed: EMFILE (Too many open files)". */
    private static final Pattern ERRNO = Pattern.compile("failed: (E[A-Z0-9]+)");

    private final int pipeBytes;
    private final DataPlane fallback;
    private final Map<EventLoop, PipePool> pools = new ConcurrentHashMap<>();
    private final Set<String> reasonsLogged = ConcurrentHashMap.newKeySet();

    /**
     * @param pipeBytes the capacity asked for each pipe; the kernel rounds it up to a power of two
     *                  pages, and may give less to an unprivileged user past its pipe quota
     * @param fallback  serves a connection for which no pipe could be made
     */
    public SpliceDataPlane(int pipeBytes, DataPlane fallback) {
        this.pipeBytes = pipeBytes;
        this.fallback = fallback;
    }

    @Override
    public String name() {
        return "splice";
    }

    @Override
    public void forward(ProxiedConnection connection, Channel client, Channel backend) {
        Stats stats = connection.stats();
        PipePool pool = pools.computeIfAbsent(client.eventLoop(), loop -> new PipePool(pipeBytes, stats));
        SplicePair pair = new SplicePair(connection, client, backend, pool, this::noPipe);
        try {
            // Proof that a pipe can be had here, before the channels leave Netty.
            pool.giveBack(pool.take());
            pair.duplicateSockets();
        } catch (IOException e) {
            // Nothing was taken from the channels yet: the fallback gets them as they are.
            String reason = reason(e);
            stats.increment("ferry_splice_fallback_total{reason=\"" + reason + "\"}");
            if (reasonsLogged.add("fallback " + reason)) {
                LOG.warn("cannot make pipes for a spliced pair ({}); such connections use the {} plane: {}",
                        reason, fallback.name(), e.getMessage());
            }
            fallback.forward(connection, client, backend);
            return;
        }
        pair.start();
    }

    /** A direction of a running pair found no pipe: it waits and tries again. */
    private void noPipe(Stats stats, IOException e) {
        String reason = reason(e);
        stats.increment("ferry_splice_pipe_waits_total{reason=\"" + reason + "\"}");
        if (reasonsLogged.add("wait " + reason)) {
            LOG.warn("no pipe for a spliced direction with bytes to move ({}); it waits and tries again: {}",
                    reason, e.getMessage());
        }
    }

    private static String reason(IOException e) {
        Matcher errno = ERRNO.matcher(String.valueOf(e.getMessage()));
        return errno.find() ? errno.group(1) : "IOException";
    }

    /** Closes the spare pipes; call once the event loops have terminated. */
    @Override
    public void close() {
        pools.values().forEach(PipePool::closeSpares);
    }
}
