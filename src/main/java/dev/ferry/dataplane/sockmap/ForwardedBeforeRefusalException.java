package dev.ferry.dataplane.sockmap;

import dev.ferry.bpf.BpfException;
import java.io.IOException;
import java.util.Map;

/**
 * The kernel refused the pair's second socket after the first had joined the verdict's map, and in that
 * window the verdict forwarded bytes: a socket that closes during the handoff (a backend that answers at
 * once and closes) is refused only then. The entries are undone. {@link #delivered()} says whether every
 * forwarded byte had entered its target's send queue, so that another plane can go on from there; if not
 * (some were still queued in the kernel, or held), the pair must be reset.
 */
public final class ForwardedBeforeRefusalException extends IOException {
    private final transient BpfException refusal;
    private final transient Map<Long, Long> forwardedByCookie;
    private final boolean delivered;

    ForwardedBeforeRefusalException(BpfException refusal, Map<Long, Long> forwardedByCookie, boolean delivered) {
        super(refusal.getMessage() + ", after " + forwardedByCookie.values().stream().mapToLong(Long::longValue).sum()
                + " bytes were forwarded" + (delivered ? "" : ", not all of them delivered"), refusal);
        this.refusal = refusal;
        this.forwardedByCookie = Map.copyOf(forwardedByCookie);
        this.delivered = delivered;
    }

    /** The kernel's refusal, whose errno names the fallback. */
    public BpfException refusal() {
        return refusal;
    }

    /** Bytes the verdict forwarded from the socket with this cookie before the refusal. */
    public long forwardedFrom(long cookie) {
        return forwardedByCookie.getOrDefault(cookie, 0L);
    }

    /** Whether every forwarded byte had entered its target's send queue, and none was held. */
    public boolean delivered() {
        return delivered;
    }
}
