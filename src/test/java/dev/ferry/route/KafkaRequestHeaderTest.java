package dev.ferry.route;

import static dev.ferry.route.Buffers.firstBytes;
import static dev.ferry.route.Buffers.readUnchanged;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.common.message.ApiVersionsRequestData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.requests.ApiVersionsRequest;
import org.apache.kafka.common.requests.MetadataRequest;
import org.apache.kafka.common.requests.RequestHeader;
import org.junit.jupiter.api.Test;

class KafkaRequestHeaderTest {

    /**
     * A request as the protocol guide lays it out: size, api_key, api_version, correlation_id, client_id (int16
     * length, -1 for null), then {@code rest} (tagged fields and body).
     */
    static byte[] header(int apiKey, int apiVersion, int correlationId, String clientId, byte[] rest) {
        ByteArrayOutputStream message = new ByteArrayOutputStream();
        message.writeBytes(TlsHellos.u16(apiKey));
        message.writeBytes(TlsHellos.u16(apiVersion));
        message.writeBytes(ByteBuffer.allocate(4).putInt(correlationId).array());
        if (clientId == null) {
            message.writeBytes(new byte[] {(byte) 0xFF, (byte) 0xFF});
        } else {
            byte[] id = clientId.getBytes(StandardCharsets.UTF_8);
            message.writeBytes(TlsHellos.u16(id.length));
            message.writeBytes(id);
        }
        message.writeBytes(rest);
        return TlsHellos.concat(ByteBuffer.allocate(4).putInt(message.size()).array(), message.toByteArray());
    }

    /** What the Kafka client library writes for a request: its own serializer, plus the size in front. */
    static byte[] fromKafkaClients(RequestHeader header, org.apache.kafka.common.requests.AbstractRequest request) {
        ByteBuffer body = request.serializeWithHeader(header);
        byte[] bytes = new byte[4 + body.remaining()];
        ByteBuffer.wrap(bytes).putInt(body.remaining()).put(body);
        return bytes;
    }

    static KafkaRequestHeader.Parsed parse(byte[] bytes) {
        return readUnchanged(firstBytes(bytes), KafkaRequestHeader::parse);
    }

    @Test
    void aHeaderBuiltByTheSpecIsRead() {
        assertEquals(new KafkaRequestHeader.Found(3, 12, 42, Optional.of("tenant-a")),
                parse(header(3, 12, 42, "tenant-a", new byte[] {0, 0, 0, 0, 1})));
        assertEquals(new KafkaRequestHeader.Found(18, 0, 1, Optional.empty()), parse(header(18, 0, 1, null, new byte[0])));
        assertEquals(new KafkaRequestHeader.Found(1003, 0, 7, Optional.of("fluvio")), parse(header(1003, 0, 7, "fluvio", new byte[3])),
                "Fluvio's admin api keys are in the thousands");
        assertEquals(new KafkaRequestHeader.Found(0, 9, 1, Optional.of("ünïcödé")), parse(header(0, 9, 1, "ünïcödé", new byte[0])));
    }

    @Test
    void headersFromTheKafkaClientLibraryAreRead() {
        // ApiVersions v3 has a flexible (v2) header: tagged fields after the client id, and a compact body.
        byte[] apiVersions = fromKafkaClients(new RequestHeader(ApiKeys.API_VERSIONS, (short) 3, "tenant-a.producer-1", 5),
                new ApiVersionsRequest.Builder(new ApiVersionsRequestData()
                        .setClientSoftwareName("apache-kafka-java").setClientSoftwareVersion("4.1.1"), (short) 3, (short) 3)
                        .build((short) 3));
        assertEquals(new KafkaRequestHeader.Found(18, 3, 5, Optional.of("tenant-a.producer-1")), parse(apiVersions));
        // Metadata v8 has a v1 header.
        byte[] metadata = fromKafkaClients(new RequestHeader(ApiKeys.METADATA, (short) 8, "tenant-b", 9),
                new MetadataRequest.Builder(List.of("orders"), false).build((short) 8));
        assertEquals(new KafkaRequestHeader.Found(3, 8, 9, Optional.of("tenant-b")), parse(metadata));
        for (byte[] request : List.of(apiVersions, metadata)) {
            for (int length = 0; length < 4 + 10 + 8; length++) {
                assertEquals(KafkaRequestHeader.NEED_MORE, readUnchanged(firstBytes(request, length), KafkaRequestHeader::parse),
                        "cut at " + length);
            }
        }
    }

    @Test
    void everyCutBeforeTheEndOfTheClientIdNeedsMore() {
        byte[] request = header(3, 12, 42, "tenant-a", new byte[100]);
        int clientIdEnd = 4 + 10 + "tenant-a".length();
        for (int length = 0; length < clientIdEnd; length++) {
            assertEquals(KafkaRequestHeader.NEED_MORE, readUnchanged(firstBytes(request, length), KafkaRequestHeader::parse),
                    "cut at " + length);
        }
        assertEquals(new KafkaRequestHeader.Found(3, 12, 42, Optional.of("tenant-a")),
                readUnchanged(firstBytes(request, clientIdEnd), KafkaRequestHeader::parse), "the body is never waited for");
    }

    @Test
    void otherProtocolsAreNotKafka() throws Exception {
        assertEquals(KafkaRequestHeader.NOT_KAFKA, parse("GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(KafkaRequestHeader.NOT_KAFKA, parse("G".getBytes(StandardCharsets.US_ASCII)), "from the first byte");
        assertEquals(KafkaRequestHeader.NOT_KAFKA, parse(TlsHellos.fromJdk("TLSv1.3", "a.example.com")));
        assertEquals(KafkaRequestHeader.NOT_KAFKA, parse(new byte[] {0, 0, 0, 5}), "smaller than a header");
        byte[] idPastTheSize = header(3, 1, 1, "tenant-a", new byte[0]);
        idPastTheSize[3] -= 1;
        assertEquals(KafkaRequestHeader.NOT_KAFKA, parse(idPastTheSize));
        byte[] negativeVersion = header(3, 0xFFFF, 1, "a", new byte[0]);
        assertEquals(KafkaRequestHeader.NOT_KAFKA, parse(negativeVersion));
        byte[] badLength = header(3, 1, 1, "a", new byte[0]);
        badLength[12] = (byte) 0xFF;
        badLength[13] = (byte) 0xFE;
        assertEquals(KafkaRequestHeader.NOT_KAFKA, parse(badLength));
        byte[] badUtf8 = header(3, 1, 1, "ab", new byte[0]);
        badUtf8[14] = (byte) 0xC3;
        assertEquals(KafkaRequestHeader.NOT_KAFKA, parse(badUtf8));
    }

    @Test
    void clientIdMatchesExactlyOrByPrefix() {
        byte[] request = header(3, 12, 42, "tenant-a.consumer", new byte[0]);
        assertEquals(Match.YES, Buffers.matches(new KafkaClientIdMatcher("tenant-a.consumer"), firstBytes(request)));
        assertEquals(Match.NO, Buffers.matches(new KafkaClientIdMatcher("tenant-a"), firstBytes(request)));
        assertEquals(Match.YES, Buffers.matches(new KafkaClientIdMatcher("tenant-a*"), firstBytes(request)));
        assertEquals(Match.YES, Buffers.matches(new KafkaClientIdMatcher("*"), firstBytes(request)));
        assertEquals(Match.NO, Buffers.matches(new KafkaClientIdMatcher("*"), firstBytes(header(3, 1, 1, null, new byte[0]))));
        assertEquals(Match.NO, Buffers.matches(new KafkaClientIdMatcher("tenant-b*"), firstBytes(request)));
        assertEquals(Match.NEED_MORE, Buffers.matches(new KafkaClientIdMatcher("tenant-a*"), firstBytes(request, 15)));
    }
}
