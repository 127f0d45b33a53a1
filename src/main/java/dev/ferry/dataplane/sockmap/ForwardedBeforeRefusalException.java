package dev.ferry.dataplane.sockmap;

import dev.ferry.bpf.BpfException;
import java.io.IOException;
import java.util.Map;

/**
 * The kernel refused the pair's second socket after the first had joined the verdict's map, and in that
 * window the verdict forwarded or held bytes: a socket that closes during the handoff (a backend that answers
 * at once and closes) is refused only then. The entries are undone, which drops held bytes and any redirected
 * ones still queued in the kernel; only if every redirected byte had entered its target's send queue and none
 * was held can another plane go on from there, otherwise the pair must be reset.
 */
public final class ForwardedBeforeRefusalException extends IOException {
    private final transient BpfException refusal;
    private final transient Map<Long, Long> redirectedByCookie;
    private final boolean held;

    ForwardedBeforeRefusalException(BpfException refusal, Map<Long, Long> redirectedByCookie, boolean held) {
        super(refusal.getMessage() + ", after " + redirectedByCookie.values().stream().mapToLong(Long::longValue).sum()
                + " bytes were forwarded" + (held ? " and some held" : ""), refusal);
        this.refusal = refusal;
        this.redirectedByCookie = Map.copyOf(redirectedByCookie);
        this.held = held;
    }

    /** The kernel's refusal, whose errno names the fallback. */
    public BpfException refusal() {
        return refusal;
    }

    /** Bytes the verdict redirected from the socket with this cookie before the refusal. */
    public long forwardedFrom(long cookie) {
        return redirectedByCookie.getOrDefault(cookie, 0L);
    }

    /** Whether the verdict held bytes for user space, which the undo dropped with the psock. */
    public boolean held() {
        return held;
    }
}
