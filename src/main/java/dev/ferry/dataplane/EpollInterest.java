package dev.ferry.dataplane;

import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.epoll.EpollSocketChannel;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adjusts the epoll interest set of Ferry's channels, for three behaviours of Netty 4.2.18's epoll
 * transport:
 * <ul>
 *   <li>When the interest set becomes empty (input shut down, not reading, nothing to flush),
 *       {@code EpollIoHandler} removes the descriptor from epoll but still believes it registered, so
 *       the next write that needs EPOLLOUT fails with {@code epoll_ctl(MOD): ENOENT} and the
 *       connection is lost. A client that sends its FIN while being routed gets there before any
 *       plane starts. EPOLLERR, which epoll reports whether asked or not, is added from accept and
 *       connect on ({@link #keepRegistered}), so that the set is never empty.</li>
 *   <li>Once EPOLLRDHUP (the peer's FIN) is seen, Netty reads to the end of the stream whatever
 *       auto-read says, so a peer that sent much and then FIN would be read into memory while the
 *       other side cannot take it. For the copy plane EPOLLRDHUP is removed ({@link #forCopy}): the
 *       end of the stream still arrives as a read of 0 bytes, when the plane reads again.</li>
 *   <li>A socket shut both ways reports EPOLLHUP, level-triggered, and Netty ignores a lone
 *       EPOLLHUP: the loop would wake for it without end. {@link #stopWatching} empties the set once
 *       nothing more can arrive on such a socket, and Netty takes it out of epoll.</li>
 * </ul>
 * A FIN that Netty saw before the handoff (while the first packet was read) still makes it read the
 * rest at once, at most what the socket's receive buffer held.
 */
public final class EpollInterest {
    private static final Logger LOG = LoggerFactory.getLogger(EpollInterest.class);
    private static final MethodHandle SET_FLAG = flagMethod("setFlag");
    private static final MethodHandle CLEAR_FLAG = flagMethod("clearFlag");

    private EpollInterest() {}

    private static MethodHandle flagMethod(String name) {
        try {
            // Package-private in Netty: reached by reflection, which the unnamed module allows.
            Class<?> epollChannel = Class.forName("io.netty.channel.epoll.AbstractEpollChannel");
            return MethodHandles.privateLookupIn(epollChannel, MethodHandles.lookup())
                    .findVirtual(epollChannel, name, MethodType.methodType(void.class, int.class))
                    .asType(MethodType.methodType(void.class, Channel.class, int.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.warn("cannot adjust epoll interest sets ({}); a copied connection may fail when one side has"
                    + " finished sending and the other waits for room", e.toString());
            return null;
        }
    }

    /** Keeps the descriptor in epoll whatever else the set loses; call on the channel's event loop. */
    public static void keepRegistered(Channel channel) {
        adjust(channel, SET_FLAG, EpollIoOps.EPOLLERR);
    }

    /**
     * Undoes {@link #keepRegistered} once a socket is shut both ways: epoll reports EPOLLHUP for it
     * whether asked or not, level-triggered, and Netty does nothing with a lone EPOLLHUP, so the
     * loop would wake for it over and over. With the set empty, Netty takes the socket out of epoll;
     * nothing can arrive on it any more. Call on the channel's event loop.
     */
    public static void stopWatching(Channel channel) {
        adjust(channel, CLEAR_FLAG, EpollIoOps.EPOLLERR);
    }

    /** Sets or clears ({@code change}) one flag of an epoll channel's interest set. */
    private static void adjust(Channel channel, MethodHandle change, EpollIoOps flag) {
        if (change == null || !(channel instanceof EpollSocketChannel)) {
            return;
        }
        try {
            change.invokeExact(channel, flag.value());
        } catch (Throwable e) {
            LOG.debug("cannot adjust the interest set of {}: {}", channel, e.toString());
        }
    }

    /** Call on the channel's event loop, before the plane starts reading. */
    public static void forCopy(Channel channel) {
        if (SET_FLAG == null || CLEAR_FLAG == null || !(channel instanceof EpollSocketChannel)) {
            return;
        }
        try {
            SET_FLAG.invokeExact(channel, EpollIoOps.EPOLLERR.value());
            CLEAR_FLAG.invokeExact(channel, EpollIoOps.EPOLLRDHUP.value());
        } catch (Throwable e) {
            LOG.debug("cannot adjust the interest set of {}: {}", channel, e.toString());
        }
    }
}
