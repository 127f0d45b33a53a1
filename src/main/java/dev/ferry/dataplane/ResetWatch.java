package dev.ferry.dataplane;

import dev.ferry.sys.Splice;
import io.netty.channel.Channel;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells a plane that a socket whose end of stream Netty has read was reset since. Netty 4.2.18 stops
 * reading such a socket, and with it ignores the EPOLLERR and EPOLLHUP that epoll keeps reporting for
 * it, level-triggered: the connection would wait for its idle timeout with its event loop waking
 * without end (measured: one loop at 100% of a core). This watch registers a duplicate of the
 * descriptor with the same event loop, edge-triggered and with no interest but the errors epoll
 * always reports, and runs {@code onReset} once when the socket has an error (SO_ERROR). Its owner
 * closes it when the connection ends; until then it holds one descriptor.
 */
public final class ResetWatch implements EpollIoHandle {
    private static final Logger LOG = LoggerFactory.getLogger(ResetWatch.class);

    private final Socket duplicate;
    private final Runnable onReset;
    private IoRegistration registration;
    /** Until the registration is done the descriptor stays open, so that its number cannot be reused under it. */
    private boolean registering = true;
    private boolean closed;

    private ResetWatch(Socket duplicate, Runnable onReset) {
        this.duplicate = duplicate;
        this.onReset = onReset;
    }

    /**
     * Starts watching {@code channel}'s socket; call on its event loop. Returns null, after logging why,
     * when the descriptor cannot be duplicated: the connection then ends by its idle timeout, as before.
     */
    public static ResetWatch start(Channel channel, Runnable onReset) {
        Socket duplicate;
        try {
            duplicate = new Socket(Splice.duplicate(((UnixChannel) channel).fd().intValue()));
        } catch (IOException e) {
            LOG.debug("cannot watch a half-closed socket for a reset: {}", e.getMessage());
            return null;
        }
        ResetWatch watch = new ResetWatch(duplicate, onReset);
        ((IoEventLoop) channel.eventLoop()).register(watch).addListener((Future<IoRegistration> registered) -> {
            watch.registering = false;
            if (!registered.isSuccess()) {
                LOG.debug("cannot register a reset watch: {}", registered.cause().toString());
                watch.closed = true;
                watch.release();
                return;
            }
            watch.registration = registered.getNow();
            if (watch.closed) {
                watch.release();  // closed while registering
                return;
            }
            watch.registration.submit(EpollIoOps.EPOLLET);
            watch.check();  // the reset may have come before the registration
        });
        return watch;
    }

    @Override
    public FileDescriptor fd() {
        return duplicate;
    }

    @Override
    public void handle(IoRegistration registration, IoEvent event) {
        check();
    }

    private void check() {
        if (closed) {
            return;
        }
        int error;
        try {
            error = duplicate.getSoError();
        } catch (IOException | RuntimeException e) {
            error = -1;
        }
        if (error != 0) {
            close();
            onReset.run();
        }
    }

    /** Stops watching and closes the duplicate; again is harmless. Also called when the loop stops. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (!registering) {
            release();
        }
    }

    /** Out of epoll first, then the descriptor, whose number the kernel may hand out again at once. */
    private void release() {
        if (registration != null) {
            registration.cancel();
        }
        try {
            duplicate.close();
        } catch (IOException e) {
            LOG.debug("closing a reset watch: {}", e.getMessage());
        }
    }
}
