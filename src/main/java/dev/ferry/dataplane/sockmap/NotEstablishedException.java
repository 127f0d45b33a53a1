package dev.ferry.dataplane.sockmap;

import dev.ferry.sys.TcpInfo;
import java.io.IOException;

/**
 * A socket of the pair is no longer ESTABLISHED (its peer's FIN arrived before the handoff), which the
 * kernel refuses with EOPNOTSUPP: found before anything was put into the maps, so nothing is undone.
 */
final class NotEstablishedException extends IOException {
    /** The reason the fallback is counted under: the errno the kernel would have answered. */
    static final String REASON = "EOPNOTSUPP";

    NotEstablishedException(String side, int tcpState) {
        super("the " + side + " socket is " + TcpInfo.stateName(tcpState) + ", not ESTABLISHED");
    }

    /**
     * An expected outcome, not a fault (a backend that answers and closes at once ends about half the
     * connections of the benchmark's connection-rate scenario this way): no stack trace to fill.
     */
    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
