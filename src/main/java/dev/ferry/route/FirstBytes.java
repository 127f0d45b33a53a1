package dev.ferry.route;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * What a {@link Matcher} sees of a new connection: the bytes received so far, where the connection comes from and
 * where it goes.
 *
 * <p>When a trusted PROXY header or a {@code FERRY} token preamble came first, the {@linkplain #bytes() bytes}
 * start after them, the {@linkplain #source() source} is the client the PROXY header names, and the
 * {@linkplain #destination() destination} the address that client connected to.
 *
 * <p>One instance serves one decision on one thread. It parses the bytes as TLS, HTTP or Kafka at most once
 * each, on first use, so that many routes cost one parse: immutable in what it answers, but not thread-safe.
 */
public final class FirstBytes {

    /** For connections whose addresses are unknown (tests, tools): 0.0.0.0:0 matches no network but 0.0.0.0/0. */
    public static final InetSocketAddress UNKNOWN_ADDRESS = new InetSocketAddress(InetAddress.ofLiteral("0.0.0.0"), 0);

    private final ByteBuffer bytes;
    private final InetSocketAddress source;
    private final InetSocketAddress destination;
    private final TokenPreamble.Parsed preamble;
    private final boolean noMoreBytes;
    private ClientHello.Parsed clientHello;
    private HttpRequestHead.Parsed httpHead;
    private HttpRequestHead.LineParsed requestLine;
    private KafkaRequestHeader.Parsed kafkaHeader;

    FirstBytes(ByteBuffer bytes, InetSocketAddress source, InetSocketAddress destination,
               TokenPreamble.Parsed preamble, boolean noMoreBytes) {
        this.bytes = Objects.requireNonNull(bytes, "bytes");
        this.source = Objects.requireNonNull(source, "source");
        this.destination = Objects.requireNonNull(destination, "destination");
        this.preamble = Objects.requireNonNull(preamble, "preamble");
        this.noMoreBytes = noMoreBytes;
    }

    /** The bytes and the two ends of a connection, with no preamble and more bytes possibly to come. */
    public static FirstBytes of(ByteBuffer bytes, InetSocketAddress source, InetSocketAddress destination) {
        return new FirstBytes(bytes, source, destination, TokenPreamble.ABSENT, false);
    }

    /** Bytes alone, from and to {@link #UNKNOWN_ADDRESS}. */
    public static FirstBytes of(ByteBuffer bytes) {
        return of(bytes, UNKNOWN_ADDRESS, UNKNOWN_ADDRESS);
    }

    /**
     * Every byte received so far after any PROXY header and token preamble, from position to limit. Matchers must
     * leave position, limit and content as they are (use absolute gets), since every route reads the same buffer.
     */
    public ByteBuffer bytes() {
        return bytes;
    }

    /** The client: from a trusted PROXY header when there was one, else the socket's peer. */
    public InetSocketAddress source() {
        return source;
    }

    /** Where the client connected to: from a trusted PROXY header when there was one, else the listener socket. */
    public InetSocketAddress destination() {
        return destination;
    }

    /**
     * Whether no more bytes will be waited for (timeout, full buffer, client EOF): a condition still needing more
     * then counts as false, and its negation as true.
     */
    public boolean noMoreBytes() {
        return noMoreBytes;
    }

    /** The {@code FERRY <token>} line before the bytes, {@link TokenPreamble#ABSENT} when none was looked for. */
    public TokenPreamble.Parsed preamble() {
        return preamble;
    }

    public ClientHello.Parsed clientHello() {
        if (clientHello == null) {
            clientHello = ClientHello.parse(bytes);
        }
        return clientHello;
    }

    public HttpRequestHead.Parsed httpHead() {
        if (httpHead == null) {
            httpHead = HttpRequestHead.parse(bytes);
        }
        return httpHead;
    }

    public HttpRequestHead.LineParsed requestLine() {
        if (requestLine == null) {
            requestLine = HttpRequestHead.parseRequestLine(bytes);
        }
        return requestLine;
    }

    public KafkaRequestHeader.Parsed kafkaHeader() {
        if (kafkaHeader == null) {
            kafkaHeader = KafkaRequestHeader.parse(bytes);
        }
        return kafkaHeader;
    }

    @Override
    public String toString() {
        return "FirstBytes[" + bytes.remaining() + " bytes from " + source + " to " + destination + "]";
    }
}
