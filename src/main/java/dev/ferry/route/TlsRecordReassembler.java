package dev.ferry.route;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Collects the first handshake message from the TLS records at the start of a buffer, and hands it to
 * {@link ClientHelloDecoder} once whole.
 *
 * <p>Every length read from the wire is checked against a fixed ceiling before it is trusted, so that garbage
 * that happens to begin with {@code 0x16 0x03} is refused at once instead of making Ferry wait for, or buffer,
 * megabytes that will never come.
 */
final class TlsRecordReassembler {

    private static final int CONTENT_TYPE_HANDSHAKE = 22;
    private static final int MAJOR_VERSION_3 = 3;
    private static final int HANDSHAKE_TYPE_CLIENT_HELLO = 1;
    private static final int RECORD_HEADER_LENGTH = 5;
    private static final int HANDSHAKE_HEADER_LENGTH = 4;

    /** The largest record a peer may send (2^14 plaintext plus the expansion TLS 1.2 allows). */
    static final int MAX_RECORD_LENGTH = 16384 + 2048;
    /** Real ClientHellos are a few KiB at most, even with post-quantum key shares. */
    static final int MAX_HANDSHAKE_LENGTH = 64 * 1024;

    private TlsRecordReassembler() {
    }

    static ClientHello.Parsed firstClientHello(ByteBuffer buffer) {
        int end = buffer.limit();
        int recordStart = buffer.position();
        // Handshake header first; replaced by an array for the whole message once its length is known.
        byte[] message = new byte[HANDSHAKE_HEADER_LENGTH];
        int collected = 0;
        boolean lengthKnown = false;
        while (true) {
            ClientHello.Parsed refusal = checkRecordHeader(buffer, recordStart, end);
            if (refusal != null) {
                return refusal;
            }
            int fragmentStart = recordStart + RECORD_HEADER_LENGTH;
            int fragmentLength = unsigned16(buffer, recordStart + 3);
            int fragmentReceived = Math.min(fragmentLength, end - fragmentStart);
            int used = 0;
            while (used < fragmentReceived && collected < message.length) {
                int count = Math.min(fragmentReceived - used, message.length - collected);
                buffer.get(fragmentStart + used, message, collected, count);
                used += count;
                collected += count;
                if (message[0] != HANDSHAKE_TYPE_CLIENT_HELLO) {
                    return ClientHello.NOT_TLS;
                }
                if (!lengthKnown && collected == HANDSHAKE_HEADER_LENGTH) {
                    int bodyLength = (message[1] & 0xFF) << 16 | (message[2] & 0xFF) << 8 | (message[3] & 0xFF);
                    if (bodyLength > MAX_HANDSHAKE_LENGTH) {
                        return ClientHello.NOT_TLS;
                    }
                    message = Arrays.copyOf(message, HANDSHAKE_HEADER_LENGTH + bodyLength);
                    lengthKnown = true;
                }
            }
            if (lengthKnown && collected == message.length) {
                return ClientHelloDecoder.decode(message, HANDSHAKE_HEADER_LENGTH, message.length);
            }
            if (fragmentReceived < fragmentLength) {
                return ClientHello.NEED_MORE;
            }
            recordStart = fragmentStart + fragmentLength;
        }
    }

    /** Null when a plausible handshake record header starts at {@code at}; otherwise why parsing stops. */
    private static ClientHello.Parsed checkRecordHeader(ByteBuffer buffer, int at, int end) {
        int received = end - at;
        if (received < 1) {
            return ClientHello.NEED_MORE;
        }
        // Checked byte by byte so that non-TLS traffic is refused from its first byte, not after five.
        if (buffer.get(at) != CONTENT_TYPE_HANDSHAKE) {
            return ClientHello.NOT_TLS;
        }
        if (received >= 2 && buffer.get(at + 1) != MAJOR_VERSION_3) {
            return ClientHello.NOT_TLS;
        }
        if (received < RECORD_HEADER_LENGTH) {
            return ClientHello.NEED_MORE;
        }
        int length = unsigned16(buffer, at + 3);
        // Empty handshake records are forbidden (RFC 8446 5.1) and would let a peer stall us for free.
        if (length == 0 || length > MAX_RECORD_LENGTH) {
            return ClientHello.NOT_TLS;
        }
        return null;
    }

    private static int unsigned16(ByteBuffer buffer, int at) {
        return (buffer.get(at) & 0xFF) << 8 | (buffer.get(at + 1) & 0xFF);
    }
}
