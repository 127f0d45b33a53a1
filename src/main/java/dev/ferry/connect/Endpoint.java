package dev.ferry.connect;

import dev.ferry.config.EndpointConfig;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One backend address of a cluster and what Ferry knows of it: open connections, the verdict of active health
 * checks, and passive ejection. The object outlives reloads and DNS refreshes that keep its address, so that
 * state carries over.
 */
public final class Endpoint {
    private final InetSocketAddress address;
    private final String label;
    final AtomicInteger active = new AtomicInteger();
    final AtomicInteger consecutiveConnectFailures = new AtomicInteger();

    // Active health: changed by one check at a time, read by every connecting thread.
    private volatile boolean checkedUp = true;
    private int checkStreak;
    private volatile String lastCheckFailure = "";
    volatile boolean checkInFlight;

    private volatile long ejectedUntilNanos;
    private volatile boolean ejected;

    Endpoint(InetSocketAddress address) {
        this.address = address;
        this.label = EndpointConfig.format(address);
    }

    public InetSocketAddress address() {
        return address;
    }

    /** {@code ip:port}, with brackets for IPv6: the name in logs, stats and the consistent-hash table. */
    public String label() {
        return label;
    }

    /** Connections open or connecting to this endpoint. */
    public int activeConnections() {
        return active.get();
    }

    public boolean checkedUp() {
        return checkedUp;
    }

    public boolean ejected(long nowNanos) {
        return ejected && nowNanos - ejectedUntilNanos < 0;
    }

    /** Whether new connections may go here: the health checks say up and it is not ejected. */
    public boolean available(long nowNanos) {
        return checkedUp && !ejected(nowNanos);
    }

    String unavailableReason(long nowNanos) {
        if (!checkedUp) {
            return "down (health check: " + lastCheckFailure + ")";
        }
        if (ejected(nowNanos)) {
            return "ejected after " + consecutiveConnectFailures.get() + " consecutive connect failures";
        }
        return "up";
    }

    /**
     * Counts one health check result; answers true when the endpoint changed state (down after {@code fall}
     * failures in a row while up, up after {@code rise} passes in a row while down).
     */
    synchronized boolean recordCheck(boolean passed, String failure, int rise, int fall) {
        if (!passed) {
            lastCheckFailure = failure;
        }
        if (passed == checkedUp) {
            checkStreak = 0;
            return false;
        }
        if (++checkStreak >= (checkedUp ? fall : rise)) {
            checkedUp = passed;
            checkStreak = 0;
            if (passed) {
                // Health checks prove it reachable again: forget earlier connect failures.
                consecutiveConnectFailures.set(0);
                ejected = false;
            }
            return true;
        }
        return false;
    }

    /** Without health checks configured, an endpoint counts as up. */
    synchronized void resetHealth() {
        checkedUp = true;
        checkStreak = 0;
    }

    void eject(long untilNanos) {
        ejectedUntilNanos = untilNanos;
        ejected = true;
    }

    @Override
    public String toString() {
        return label;
    }
}
