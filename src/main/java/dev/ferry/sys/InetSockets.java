package dev.ferry.sys;

import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** struct sockaddr_in for 127.0.0.1. */
final class InetSockets {
    private static final int SOCKADDR_IN_SIZE = 16;
    private static final ValueLayout.OfShort NETWORK_SHORT = JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN);

    private InetSockets() {}

    static MemorySegment loopback(Arena arena, int port) {
        MemorySegment address = arena.allocate(SOCKADDR_IN_SIZE, 4);  // zeroed: sin_zero stays 0
        address.set(JAVA_SHORT, 0, (short) Libc.AF_INET);                // sin_family, host order
        address.set(NETWORK_SHORT, 2, (short) port);                     // sin_port, network order
        address.asSlice(4, 4).copyFrom(MemorySegment.ofArray(new byte[] {127, 0, 0, 1}));
        return address;
    }

    static int port(MemorySegment address) {
        return Short.toUnsignedInt(address.get(NETWORK_SHORT, 2));
    }
}
