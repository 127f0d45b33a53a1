package dev.ferry.route;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * A single forward pass over an HTTP/1.x request head (RFC 9112 3 and 5), strict about syntax.
 *
 * <p>Strict because a byte sequence read two ways, by Ferry and by the backend, is how routing gets bypassed:
 * bare LF line ends, folded header lines and control characters are all refused. One parser per call; it keeps
 * its place in {@link #at}.
 */
final class HttpHeadParser {

    private static final int MAX_METHOD_LENGTH = 16;
    private static final byte[] VERSION_PREFIX = "HTTP/1.".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HOST = "host".getBytes(StandardCharsets.US_ASCII);
    private static final byte CR = '\r';
    private static final byte LF = '\n';
    private static final byte SP = ' ';
    private static final byte HT = '\t';

    private final ByteBuffer bytes;
    private final int end;
    private int at;

    HttpHeadParser(ByteBuffer bytes) {
        this.bytes = bytes;
        this.at = bytes.position();
        this.end = bytes.limit();
    }

    private String method;
    private String target;
    private int valueStart;
    private int valueEnd;

    HttpRequestHead.Parsed parse() {
        HttpRequestHead.Parsed lineProblem = requestLine();
        if (lineProblem != null) {
            return lineProblem;
        }
        Optional<String> authority = HostSyntax.absoluteFormAuthority(target);
        if (authority.isPresent()) {
            // An http(s) URI with an empty host must be rejected as invalid (RFC 9110 4.2.1).
            return authority.get().isEmpty() ? HttpRequestHead.NOT_HTTP : headWithHost(method, target, authority.get());
        }
        return readHeadersUntilHost(method, target);
    }

    HttpRequestHead.LineParsed parseRequestLine() {
        HttpRequestHead.Parsed lineProblem = requestLine();
        if (lineProblem != null) {
            return (HttpRequestHead.LineParsed) lineProblem;
        }
        return new HttpRequestHead.RequestLine(method, target);
    }

    /** @param lowercaseName the header's name in lower case */
    HttpRequestHead.HeaderParsed parseHeader(byte[] lowercaseName) {
        HttpRequestHead.Parsed problem = requestLine();
        if (problem == null) {
            problem = findHeader(lowercaseName);
        }
        if (problem == HEAD_ENDED) {
            return new HttpRequestHead.HeaderFound(method, target, Optional.empty());
        }
        if (problem != null) {
            return (HttpRequestHead.HeaderParsed) problem;
        }
        return new HttpRequestHead.HeaderFound(method, target,
                Optional.of(textWithoutWhitespaceAround(valueStart, valueEnd)));
    }

    /** Marks the end of the head in {@link #findHeader}; never returned to callers. */
    private static final HttpRequestHead.Parsed HEAD_ENDED = new HttpRequestHead.Found("-", "-", Optional.empty());

    /**
     * Reads header lines up to the first named {@code lowercaseName}: null when found (its value is between
     * {@link #valueStart} and {@link #valueEnd}), {@link #HEAD_ENDED} at the blank line, else the problem.
     */
    private HttpRequestHead.Parsed findHeader(byte[] lowercaseName) {
        while (true) {
            if (at == end) {
                return HttpRequestHead.NEED_MORE;
            }
            if (bytes.get(at) == CR) {
                HttpRequestHead.Parsed endProblem = skipLineEnd();
                return endProblem != null ? endProblem : HEAD_ENDED;
            }
            int nameStart = at;
            while (at < end && isTokenChar(bytes.get(at))) {
                at++;
            }
            if (at == end) {
                return HttpRequestHead.NEED_MORE;
            }
            // Also refuses a line that starts with whitespace: obsolete line folding.
            if (at == nameStart || bytes.get(at) != ':') {
                return HttpRequestHead.NOT_HTTP;
            }
            int nameEnd = at++;
            int start = at;
            while (at < end && isFieldValueByte(bytes.get(at))) {
                at++;
            }
            int stop = at;
            HttpRequestHead.Parsed lineProblem = skipLineEnd();
            if (lineProblem != null) {
                return lineProblem;
            }
            if (isNamed(nameStart, nameEnd, lowercaseName)) {
                valueStart = start;
                valueEnd = stop;
                return null;
            }
        }
    }

    /** Null when a request line was read into {@link #method} and {@link #target}; otherwise why parsing stops. */
    private HttpRequestHead.Parsed requestLine() {
        int methodStart = at;
        while (at < end && isUppercaseLetter(bytes.get(at)) && at - methodStart < MAX_METHOD_LENGTH) {
            at++;
        }
        if (at == end) {
            return HttpRequestHead.NEED_MORE;
        }
        if (at == methodStart || bytes.get(at) != SP) {
            return HttpRequestHead.NOT_HTTP;
        }
        method = text(methodStart, at++);

        int targetStart = at;
        while (at < end && isVisibleAscii(bytes.get(at))) {
            at++;
        }
        if (at == end) {
            return HttpRequestHead.NEED_MORE;
        }
        if (at == targetStart || bytes.get(at) != SP) {
            return HttpRequestHead.NOT_HTTP;
        }
        target = text(targetStart, at++);
        return skipVersionAndLineEnd();
    }

    /** Null when {@code HTTP/1.x CRLF} was skipped; otherwise why parsing stops. */
    private HttpRequestHead.Parsed skipVersionAndLineEnd() {
        for (byte expected : VERSION_PREFIX) {
            if (at == end) {
                return HttpRequestHead.NEED_MORE;
            }
            if (bytes.get(at++) != expected) {
                return HttpRequestHead.NOT_HTTP;
            }
        }
        if (at == end) {
            return HttpRequestHead.NEED_MORE;
        }
        if (!isDigit(bytes.get(at++))) {
            return HttpRequestHead.NOT_HTTP;
        }
        return skipLineEnd();
    }

    /** Null when CRLF was skipped; otherwise why parsing stops. */
    private HttpRequestHead.Parsed skipLineEnd() {
        if (at == end) {
            return HttpRequestHead.NEED_MORE;
        }
        if (bytes.get(at++) != CR) {
            return HttpRequestHead.NOT_HTTP;
        }
        if (at == end) {
            return HttpRequestHead.NEED_MORE;
        }
        return bytes.get(at++) == LF ? null : HttpRequestHead.NOT_HTTP;
    }

    private HttpRequestHead.Parsed readHeadersUntilHost(String method, String target) {
        HttpRequestHead.Parsed problem = findHeader(HOST);
        if (problem == HEAD_ENDED) {
            return new HttpRequestHead.Found(method, target, Optional.empty());
        }
        if (problem != null) {
            return problem;
        }
        return headWithHost(method, target, textWithoutWhitespaceAround(valueStart, valueEnd));
    }

    private static HttpRequestHead.Parsed headWithHost(String method, String target, String authority) {
        if (authority.isEmpty()) {
            return new HttpRequestHead.Found(method, target, Optional.empty());
        }
        Optional<String> host = HostSyntax.hostOfAuthority(authority);
        return host.isPresent() ? new HttpRequestHead.Found(method, target, host) : HttpRequestHead.NOT_HTTP;
    }

    private boolean isNamed(int nameStart, int nameEnd, byte[] lowercaseName) {
        if (nameEnd - nameStart != lowercaseName.length) {
            return false;
        }
        for (int i = 0; i < lowercaseName.length; i++) {
            byte b = bytes.get(nameStart + i);
            byte lower = b >= 'A' && b <= 'Z' ? (byte) (b | 0x20) : b;
            if (lower != lowercaseName[i]) {
                return false;
            }
        }
        return true;
    }

    /** Field values may have spaces and tabs around them (RFC 9110 5.5 OWS), which are not part of the value. */
    private String textWithoutWhitespaceAround(int from, int to) {
        while (from < to && isWhitespace(bytes.get(from))) {
            from++;
        }
        while (to > from && isWhitespace(bytes.get(to - 1))) {
            to--;
        }
        return text(from, to);
    }

    private static boolean isWhitespace(byte b) {
        return b == SP || b == HT;
    }

    private String text(int from, int to) {
        byte[] copy = new byte[to - from];
        bytes.get(from, copy);
        return new String(copy, StandardCharsets.ISO_8859_1);
    }

    private static boolean isUppercaseLetter(byte b) {
        return b >= 'A' && b <= 'Z';
    }

    private static boolean isDigit(byte b) {
        return b >= '0' && b <= '9';
    }

    private static boolean isVisibleAscii(byte b) {
        return b > SP && b < 0x7F;
    }

    /** RFC 9110 5.6.2 tchar. */
    private static boolean isTokenChar(byte b) {
        return (b >= 'a' && b <= 'z') || isUppercaseLetter(b) || isDigit(b) || "!#$%&'*+-.^_`|~".indexOf(b) >= 0;
    }

    /** RFC 9110 5.5: visible ASCII, space, tab and obs-text; never CR, LF, NUL or other controls. */
    private static boolean isFieldValueByte(byte b) {
        int unsigned = b & 0xFF;
        return b == HT || (unsigned >= SP && unsigned != 0x7F);
    }
}
