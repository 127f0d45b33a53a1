package dev.ferry.route;

import java.nio.ByteBuffer;

/**
 * A condition on the first bytes of a connection.
 *
 * <p>Implementations must answer for any input without throwing, read only between the buffer's position and
 * limit, and leave its position, limit and content as they were (use absolute gets or a duplicate), because
 * the same buffer is handed to every route in turn and then forwarded to the backend.
 */
@FunctionalInterface
public interface Matcher {

    /** @param firstBytes every byte received so far on the connection, from its position to its limit */
    Match test(ByteBuffer firstBytes);
}
