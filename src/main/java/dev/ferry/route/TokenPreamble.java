package dev.ferry.route;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Reads a {@code FERRY <token>\n} line at the start of a connection: how a client that speaks a protocol without
 * a field for it (TLS, a database protocol) presents a token to Ferry. Ferry strips the line before forwarding,
 * so the backend sees the protocol's own bytes only. {@code \r\n} is accepted as line end too.
 *
 * <p>The token is 1 to {@value #MAX_TOKEN_LENGTH} visible ASCII characters; {@link Found#toString()} never shows
 * it, so that logging a parse result cannot leak it.
 */
public final class TokenPreamble {

    /** The outcome of looking for a preamble at the start of a connection. */
    public sealed interface Parsed permits NeedMore, Absent, Malformed, Found {
    }

    /** The bytes so far could begin a preamble. */
    public record NeedMore() implements Parsed {
    }

    /** The bytes do not start with {@code FERRY }: there is no preamble, and nothing to strip. */
    public record Absent() implements Parsed {
    }

    /** The bytes start with {@code FERRY } but no well-formed token line follows; nothing is stripped. */
    public record Malformed() implements Parsed {
    }

    /**
     * @param length the bytes of the whole line, line end included, to strip before forwarding
     * @param token the token, never logged
     */
    public record Found(int length, String token) implements Parsed {

        @Override
        public String toString() {
            return "Found[length=" + length + ", token=(redacted)]";
        }
    }

    public static final NeedMore NEED_MORE = new NeedMore();
    public static final Absent ABSENT = new Absent();
    public static final Malformed MALFORMED = new Malformed();

    static final byte[] PREFIX = "FERRY ".getBytes(StandardCharsets.US_ASCII);
    public static final int MAX_TOKEN_LENGTH = 1024;

    private TokenPreamble() {
    }

    /** Never throws, reads only between position and limit, and leaves the buffer unchanged. */
    public static Parsed parse(ByteBuffer firstBytes) {
        int start = firstBytes.position();
        int available = firstBytes.limit() - start;
        int compared = Math.min(available, PREFIX.length);
        for (int i = 0; i < compared; i++) {
            if (firstBytes.get(start + i) != PREFIX[i]) {
                return ABSENT;
            }
        }
        if (compared < PREFIX.length) {
            return NEED_MORE;
        }
        int tokenStart = start + PREFIX.length;
        int end = firstBytes.limit();
        int at = tokenStart;
        while (at < end && at - tokenStart <= MAX_TOKEN_LENGTH) {
            byte b = firstBytes.get(at);
            if (b == '\n' || b == '\r') {
                break;
            }
            if (b <= 0x20 || b >= 0x7F) {
                return MALFORMED;
            }
            at++;
        }
        int tokenLength = at - tokenStart;
        if (tokenLength > MAX_TOKEN_LENGTH) {
            return MALFORMED;
        }
        if (at == end) {
            return NEED_MORE;
        }
        if (tokenLength == 0) {
            return MALFORMED;
        }
        int lineEnd = at;
        if (firstBytes.get(at) == '\r') {
            if (at + 1 == end) {
                return NEED_MORE;
            }
            if (firstBytes.get(at + 1) != '\n') {
                return MALFORMED;
            }
            lineEnd = at + 1;
        }
        byte[] token = new byte[tokenLength];
        firstBytes.get(tokenStart, token);
        return new Found(lineEnd + 1 - start, new String(token, StandardCharsets.US_ASCII));
    }
}
