package dev.ferry.route;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.Function;

/** Buffers as the router sees them, and a check that parsers leave them alone. */
final class Buffers {

    private Buffers() {
    }

    /**
     * The first {@code length} bytes of {@code bytes}, read-only, starting at a non-zero position with junk
     * before it and after the limit, so that a parser that ignores position or limit gets caught.
     */
    static ByteBuffer firstBytes(byte[] bytes, int length) {
        byte[] padded = new byte[length + 14];
        Arrays.fill(padded, (byte) 0x7F);
        System.arraycopy(bytes, 0, padded, 7, length);
        return ByteBuffer.wrap(padded).position(7).limit(7 + length).asReadOnlyBuffer();
    }

    static ByteBuffer firstBytes(byte[] bytes) {
        return firstBytes(bytes, bytes.length);
    }

    static ByteBuffer firstBytes(String ascii) {
        return firstBytes(ascii.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** Asks {@code matcher} about {@code buffer}, from and to unknown addresses, checking it left the buffer alone. */
    static Match matches(Matcher matcher, ByteBuffer buffer) {
        return readUnchanged(buffer, bytes -> matcher.test(FirstBytes.of(bytes)));
    }

    /** Applies {@code reader} and checks that it left position and limit where they were. */
    static <T> T readUnchanged(ByteBuffer buffer, Function<ByteBuffer, T> reader) {
        int position = buffer.position();
        int limit = buffer.limit();
        T result = reader.apply(buffer);
        assertEquals(position, buffer.position(), "position moved");
        assertEquals(limit, buffer.limit(), "limit moved");
        return result;
    }
}
