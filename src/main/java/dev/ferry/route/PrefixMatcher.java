package dev.ferry.route;

import java.nio.ByteBuffer;
import java.util.HexFormat;

/**
 * Matches connections whose first bytes are a given literal.
 *
 * <p>A class rather than a record because a record would expose, and compare by identity, its array.
 */
public final class PrefixMatcher implements Matcher {

    private final byte[] prefix;

    /** @param prefix not empty; copied */
    public PrefixMatcher(byte[] prefix) {
        if (prefix.length == 0) {
            throw new IllegalArgumentException("empty prefix would match everything; use a catch-all route");
        }
        this.prefix = prefix.clone();
    }

    @Override
    public Match test(FirstBytes connection) {
        ByteBuffer firstBytes = connection.bytes();
        int start = firstBytes.position();
        int compared = Math.min(firstBytes.remaining(), prefix.length);
        for (int i = 0; i < compared; i++) {
            if (firstBytes.get(start + i) != prefix[i]) {
                return Match.NO;
            }
        }
        return compared == prefix.length ? Match.YES : Match.NEED_MORE;
    }

    @Override
    public String toString() {
        return "PrefixMatcher[" + HexFormat.of().formatHex(prefix) + "]";
    }
}
