package dev.ferry.route;

import java.nio.charset.StandardCharsets;

/**
 * Reads big-endian TLS structures from a byte range without ever reading past it.
 *
 * <p>A read that would go past the end returns 0 (or an empty reader) and marks the reader failed; the caller
 * checks {@link #failed()} once after a run of reads instead of after each, and loops over
 * {@link #isEmpty()} end once the reader fails.
 */
final class WireReader {

    private final byte[] bytes;
    private final int end;
    private int position;
    private boolean failed;

    WireReader(byte[] bytes, int from, int to) {
        this.bytes = bytes;
        this.position = from;
        this.end = to;
    }

    private static WireReader failedReader() {
        WireReader reader = new WireReader(new byte[0], 0, 0);
        reader.failed = true;
        return reader;
    }

    int u8() {
        if (!has(1)) {
            return 0;
        }
        return bytes[position++] & 0xFF;
    }

    int u16() {
        return u8() << 8 | u8();
    }

    void skip(int length) {
        if (has(length)) {
            position += length;
        }
    }

    /** The next {@code length} bytes as a reader of their own; this reader moves past them. */
    WireReader take(int length) {
        if (!has(length)) {
            return failedReader();
        }
        WireReader part = new WireReader(bytes, position, position + length);
        position += length;
        return part;
    }

    /** A vector with a one-byte length in front, as {@code opaque x<0..2^8-1>}. */
    WireReader u8Prefixed() {
        int length = u8();
        return failed ? failedReader() : take(length);
    }

    /** A vector with a two-byte length in front, as {@code opaque x<0..2^16-1>}. */
    WireReader u16Prefixed() {
        int length = u16();
        return failed ? failedReader() : take(length);
    }

    /** The rest of the bytes, one char per byte; for ASCII protocol fields. */
    String restAsLatin1() {
        String text = new String(bytes, position, end - position, StandardCharsets.ISO_8859_1);
        position = end;
        return text;
    }

    int remaining() {
        return end - position;
    }

    /** True when nothing is left to read, or when reading has failed. */
    boolean isEmpty() {
        return failed || position == end;
    }

    boolean failed() {
        return failed;
    }

    /** Records that what was read is well-formed in size but not in meaning. */
    void fail() {
        failed = true;
    }

    private boolean has(int length) {
        if (failed || length < 0 || length > end - position) {
            failed = true;
            return false;
        }
        return true;
    }
}
