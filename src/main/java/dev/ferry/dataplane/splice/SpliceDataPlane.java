package dev.ferry.dataplane.splice;

import dev.ferry.handoff.DataPlane;
import dev.ferry.handoff.ProxiedConnection;
import io.netty.channel.Channel;
import java.io.IOException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forwards with splice(2) through a pipe per direction: the kernel moves the bytes from one socket
 * into the pipe and from the pipe into the other socket, without copying them through user space,
 * and the event loop of the pair drives both moves from epoll readiness.
 *
 * <p>What a connection holds is bounded by its two pipes; a full pipe whose target cannot take more
 * stops the reads from the source, so TCP's window holds the sender back. A connection whose pipes
 * cannot be made (descriptor limits) is served by the fallback plane, counted and logged once per
 * reason.
 *
 * <p>Only sockets that were never in a sockmap may be spliced (KERNEL-NOTES): the sockmap plane
 * hands a pair here only when its insertion failed and was undone.
 */
public final class SpliceDataPlane implements DataPlane {
    private static final Logger LOG = LoggerFactory.getLogger(SpliceDataPlane.class);
    static final String BUFFERED = "ferry_dataplane_buffered_bytes{plane=\"splice\"}";
    /** The errno name in the messages of dev.ferry.sys: "pipe2 failed: EMFILE (Too many open files)". */
    private static final java.util.regex.Pattern ERRNO = java.util.regex.Pattern.compile("failed: (E[A-Z0-9]+)");

    private final int pipeBytes;
    private final DataPlane fallback;
    private final Set<String> reasonsLogged = ConcurrentHashMap.newKeySet();

    /**
     * @param pipeBytes the capacity asked for each pipe; the kernel rounds it up to a power of two
     *                  pages, and may give less to an unprivileged user past its pipe quota
     * @param fallback  serves a connection whose pipes could not be made
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
        SplicePair pair = new SplicePair(connection, client, backend);
        try {
            pair.openPipes(pipeBytes);
        } catch (IOException e) {
            // Nothing was taken from the channels yet: the fallback gets them as they are.
            java.util.regex.Matcher errno = ERRNO.matcher(String.valueOf(e.getMessage()));
            String reason = errno.find() ? errno.group(1) : "IOException";
            connection.stats().increment("ferry_splice_fallback_total{reason=\"" + reason + "\"}");
            if (reasonsLogged.add(reason)) {
                LOG.warn("cannot make pipes for a spliced pair ({}); such connections use the {} plane: {}",
                        reason, fallback.name(), e.getMessage());
            }
            fallback.forward(connection, client, backend);
            return;
        }
        pair.start();
    }
}
