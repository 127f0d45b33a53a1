package dev.ferry.route;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;

/**
 * Reads the header of the first request on a Kafka-protocol connection, as far as the client id
 * (kafka.apache.org/protocol, "Headers"; Fluvio's wire format has the same layout):
 *
 * <pre>
 * size            int32   bytes that follow, header and body
 * api_key         int16
 * api_version     int16
 * correlation_id  int32
 * client_id       int16 length, then that many UTF-8 bytes; length -1 for null
 * (request header v2 then has tagged fields, and the body follows)
 * </pre>
 *
 * <p>Only the header is needed, never the body, so a large first request does not make Ferry wait for it.
 */
public final class KafkaRequestHeader {

    /** The outcome of reading the first bytes of a connection as a Kafka request. */
    public sealed interface Parsed permits NeedMore, NotKafka, Found {
    }

    /** The bytes so far could begin a Kafka request header. */
    public record NeedMore() implements Parsed {
    }

    /** The bytes are not a plausible Kafka request header, whatever follows. */
    public record NotKafka() implements Parsed {
    }

    /**
     * @param clientId empty when the client sent a null client id
     */
    public record Found(int apiKey, int apiVersion, int correlationId, Optional<String> clientId) implements Parsed {

        public Found {
            Objects.requireNonNull(clientId, "clientId");
        }
    }

    public static final NeedMore NEED_MORE = new NeedMore();
    public static final NotKafka NOT_KAFKA = new NotKafka();

    /** Kafka brokers refuse larger requests by default ({@code socket.request.max.bytes}, 100 MiB). */
    static final int MAX_REQUEST_SIZE = 100 * 1024 * 1024;
    private static final int FIXED_HEADER_LENGTH = 2 + 2 + 4 + 2;

    private KafkaRequestHeader() {
    }

    /** Never throws, reads only between position and limit, and leaves the buffer unchanged. */
    public static Parsed parse(ByteBuffer firstBytes) {
        int start = firstBytes.position();
        int available = firstBytes.limit() - start;
        // The size's first byte alone rules out most other protocols: "G", 0x16 and "S" are all far too big.
        if (available >= 1 && (firstBytes.get(start) & 0xFF) > (MAX_REQUEST_SIZE >>> 24)) {
            return NOT_KAFKA;
        }
        if (available < 4) {
            return NEED_MORE;
        }
        int size = int32(firstBytes, start);
        if (size < FIXED_HEADER_LENGTH || size > MAX_REQUEST_SIZE) {
            return NOT_KAFKA;
        }
        if (available >= 8 && int16(firstBytes, start + 6) < 0) {
            return NOT_KAFKA; // api_version
        }
        if (available < 4 + FIXED_HEADER_LENGTH) {
            return NEED_MORE;
        }
        int apiKey = int16(firstBytes, start + 4) & 0xFFFF; // unsigned: Fluvio's api keys are u16
        int apiVersion = int16(firstBytes, start + 6);
        int correlationId = int32(firstBytes, start + 8);
        int clientIdLength = int16(firstBytes, start + 12);
        if (clientIdLength == -1) {
            return new Found(apiKey, apiVersion, correlationId, Optional.empty());
        }
        if (clientIdLength < 0 || FIXED_HEADER_LENGTH + clientIdLength > size) {
            return NOT_KAFKA;
        }
        if (available < 4 + FIXED_HEADER_LENGTH + clientIdLength) {
            return NEED_MORE;
        }
        Optional<String> clientId = utf8(firstBytes.duplicate().position(start + 4 + FIXED_HEADER_LENGTH)
                .limit(start + 4 + FIXED_HEADER_LENGTH + clientIdLength));
        if (clientId.isEmpty()) {
            return NOT_KAFKA;
        }
        return new Found(apiKey, apiVersion, correlationId, clientId);
    }

    /** Big-endian whatever the buffer's byte order. */
    private static int int32(ByteBuffer bytes, int at) {
        return (bytes.get(at) & 0xFF) << 24 | (bytes.get(at + 1) & 0xFF) << 16
                | (bytes.get(at + 2) & 0xFF) << 8 | (bytes.get(at + 3) & 0xFF);
    }

    private static int int16(ByteBuffer bytes, int at) {
        return (short) ((bytes.get(at) & 0xFF) << 8 | (bytes.get(at + 1) & 0xFF));
    }

    private static Optional<String> utf8(ByteBuffer bytes) {
        try {
            CharBuffer text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes);
            return Optional.of(text.toString());
        } catch (CharacterCodingException malformed) {
            return Optional.empty();
        }
    }
}
