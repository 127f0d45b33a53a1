package dev.ferry.route;

/**
 * Matches Kafka-protocol connections whose first request header has a given client id, exactly or, for a pattern
 * ending in {@code *}, by prefix. Requests with a null client id, and other protocols, do not match.
 *
 * @param pattern as configured
 */
public record KafkaClientIdMatcher(String pattern) implements Matcher {

    @Override
    public Match test(FirstBytes connection) {
        return switch (connection.kafkaHeader()) {
            case KafkaRequestHeader.NeedMore needMore -> Match.NEED_MORE;
            case KafkaRequestHeader.NotKafka notKafka -> Match.NO;
            case KafkaRequestHeader.Found header ->
                    header.clientId().filter(this::matches).isPresent() ? Match.YES : Match.NO;
        };
    }

    boolean matches(String clientId) {
        if (pattern.endsWith("*")) {
            return clientId.startsWith(pattern.substring(0, pattern.length() - 1));
        }
        return clientId.equals(pattern);
    }
}
