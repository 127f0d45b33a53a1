package dev.ferry.route;

import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.Optional;

/**
 * Reads the head of an HTTP/1.x request at the start of a connection, as far as its host.
 *
 * <p>Parsing stops as soon as the host is known: after the request line when the target is in absolute form
 * ({@code GET http://host/ HTTP/1.1}, whose authority a server must prefer to the Host header), else after the
 * Host header line, else at the blank line that ends the head. Waiting for the whole head would stall requests
 * whose cookies overflow the first-packet limit. A second Host header later in the head is left to the backend,
 * which must answer it with 400 (RFC 9110 7.2); it cannot steer the connection anywhere the first could not.
 */
public final class HttpRequestHead {

    /** The outcome of reading the first bytes of a connection as an HTTP/1.x request. */
    public sealed interface Parsed permits NeedMore, NotHttp, Found {
    }

    /** The outcome of reading only the request line. */
    public sealed interface LineParsed permits NeedMore, NotHttp, RequestLine {
    }

    /** The outcome of looking for one header field. */
    public sealed interface HeaderParsed permits NeedMore, NotHttp, HeaderFound {
    }

    /** The bytes so far could begin an HTTP/1.x request, but what was asked for is not known yet. */
    public record NeedMore() implements Parsed, LineParsed, HeaderParsed {
    }

    /** The bytes are not a well-formed HTTP/1.x request head, whatever follows. */
    public record NotHttp() implements Parsed, LineParsed, HeaderParsed {
    }

    /** A complete, well-formed request line ({@code GET /index.html HTTP/1.1}). */
    public record RequestLine(String method, String target) implements LineParsed {

        public RequestLine {
            Objects.requireNonNull(method, "method");
            Objects.requireNonNull(target, "target");
        }
    }

    /**
     * A request line and the headers up to the one looked for, or up to the end of the head.
     *
     * @param value the field's value without surrounding whitespace; empty when the head has no such field
     */
    public record HeaderFound(String method, String target, Optional<String> value) implements HeaderParsed {

        public HeaderFound {
            Objects.requireNonNull(method, "method");
            Objects.requireNonNull(target, "target");
            Objects.requireNonNull(value, "value");
        }

        @Override
        public String toString() {
            return "HeaderFound[method=" + method + ", value " + (value.isPresent() ? "present" : "absent") + "]";
        }
    }

    /**
     * A request line and enough of the headers to know the host.
     *
     * @param method the request method, e.g. {@code GET}
     * @param target the request target as sent, e.g. {@code /index.html}
     * @param host lowercased, without port; an IPv6 literal keeps its brackets ({@code [::1]}); empty when the
     *     head has no Host header or an empty one
     */
    public record Found(String method, String target, Optional<String> host) implements Parsed {

        public Found {
            Objects.requireNonNull(method, "method");
            Objects.requireNonNull(target, "target");
            Objects.requireNonNull(host, "host");
        }
    }

    public static final NeedMore NEED_MORE = new NeedMore();
    public static final NotHttp NOT_HTTP = new NotHttp();

    private HttpRequestHead() {
    }

    /**
     * Reads a request head from the start of {@code firstBytes}, which may end anywhere. Never throws, reads only
     * between position and limit, and leaves the buffer unchanged.
     */
    public static Parsed parse(ByteBuffer firstBytes) {
        return new HttpHeadParser(firstBytes).parse();
    }

    /** Reads only the request line, which is all that method and path routes need. Same guarantees as {@link #parse}. */
    public static LineParsed parseRequestLine(ByteBuffer firstBytes) {
        return new HttpHeadParser(firstBytes).parseRequestLine();
    }

    /**
     * Reads the head as far as the first field named {@code name} (any case), or to its end when there is none.
     * Same guarantees as {@link #parse}.
     */
    public static HeaderParsed parseHeader(ByteBuffer firstBytes, String name) {
        return new HttpHeadParser(firstBytes).parseHeader(name.toLowerCase(java.util.Locale.ROOT)
                .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    }
}
