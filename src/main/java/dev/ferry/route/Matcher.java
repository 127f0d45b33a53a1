package dev.ferry.route;

import java.util.Optional;

/**
 * A condition on a new connection.
 *
 * <p>Implementations must answer for any input without throwing, read only between the buffer's position and
 * limit, and leave its position, limit and content as they were (use absolute gets or a duplicate), because
 * the same buffer is handed to every route in turn and then forwarded to the backend. An answer of YES or NO
 * must hold whatever bytes follow.
 */
@FunctionalInterface
public interface Matcher {

    Match test(FirstBytes connection);

    /**
     * Why this condition does not hold, when that deserves a refusal reason of its own (a token that is missing,
     * malformed, expired...); asked only after {@link #test} answered NO or, once no more bytes will come,
     * NEED_MORE. Empty by default: a plain mismatch.
     */
    default Optional<String> refusalReason(FirstBytes connection) {
        return Optional.empty();
    }
}
