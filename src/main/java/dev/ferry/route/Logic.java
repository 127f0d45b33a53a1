package dev.ferry.route;

import java.util.List;
import java.util.Optional;

/**
 * The combinators {@code all}, {@code any} and {@code not}, in three-valued logic: YES and NO are final, so
 * {@code all} answers NO as soon as any part does, {@code any} YES as soon as any part does, and otherwise
 * NEED_MORE while any part still waits. Once no more bytes will come, a part still waiting counts as NO, so that
 * {@code not} of it is YES.
 */
public final class Logic {

    private Logic() {
    }

    /**
     * The answer of {@code all} and {@code any}: the first part that answers {@code decisive} decides;
     * otherwise NEED_MORE while any part still waits, else {@code otherwise}.
     */
    private static Match firstDecisive(List<Matcher> parts, FirstBytes connection, Match decisive, Match otherwise) {
        boolean waiting = false;
        for (Matcher part : parts) {
            Match match = part.test(connection);
            if (match == decisive) {
                return decisive;
            }
            waiting |= match == Match.NEED_MORE;
        }
        return waiting ? Match.NEED_MORE : otherwise;
    }

    public record All(List<Matcher> parts) implements Matcher {

        public All {
            parts = List.copyOf(parts);
        }

        @Override
        public Match test(FirstBytes connection) {
            return firstDecisive(parts, connection, Match.NO, Match.YES);
        }

        /**
         * A reason only when every part that does not hold has one: {@code {sni: db.example.com, token: ...}}
         * refuses a bad token for db.example.com as bad_token, but a connection for another name is just no match.
         */
        @Override
        public Optional<String> refusalReason(FirstBytes connection) {
            Optional<String> first = Optional.empty();
            for (Matcher part : parts) {
                if (part.test(connection) != Match.YES) {
                    Optional<String> reason = part.refusalReason(connection);
                    if (reason.isEmpty()) {
                        return Optional.empty();
                    }
                    first = first.or(() -> reason);
                }
            }
            return first;
        }
    }

    public record Any(List<Matcher> parts) implements Matcher {

        public Any {
            parts = List.copyOf(parts);
        }

        @Override
        public Match test(FirstBytes connection) {
            return firstDecisive(parts, connection, Match.YES, Match.NO);
        }

        /** The first reason any part gives: none held. */
        @Override
        public Optional<String> refusalReason(FirstBytes connection) {
            for (Matcher part : parts) {
                Optional<String> reason = part.refusalReason(connection);
                if (reason.isPresent()) {
                    return reason;
                }
            }
            return Optional.empty();
        }
    }

    /** A negation has no reason of its own: "not a valid token" failing means a valid token was there. */
    public record Not(Matcher part) implements Matcher {

        @Override
        public Match test(FirstBytes connection) {
            return switch (part.test(connection)) {
                case YES -> Match.NO;
                case NO -> Match.YES;
                case NEED_MORE -> connection.noMoreBytes() ? Match.YES : Match.NEED_MORE;
            };
        }
    }
}
