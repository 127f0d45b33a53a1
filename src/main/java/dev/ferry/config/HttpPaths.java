package dev.ferry.config;

import java.util.Optional;

/**
 * The normal form of HTTP request paths that {@code path_prefix} compares, shared by the configuration and the
 * matcher so that a prefix written in a route and a path sent by a client are read alike.
 *
 * <p>Normalizing is what keeps {@code /%61dmin} or {@code /x/../admin} from slipping past a route on
 * {@code /admin} while the backend, which normalizes, serves {@code /admin}: percent-encoded unreserved
 * characters are decoded (RFC 3986 6.2.2.2) and dot segments removed (RFC 3986 5.2.4). Other percent-encodings,
 * such as {@code %2F}, stay as they are, since decoding them would change the meaning.
 */
public final class HttpPaths {

    private HttpPaths() {
    }

    /**
     * The normal form of an absolute path ({@code /...}, no query, no fragment); empty when a percent sign is not
     * followed by two hex digits, or a byte is not visible ASCII.
     */
    public static Optional<String> normalize(String path) {
        if (path.isEmpty() || path.charAt(0) != '/') {
            return Optional.empty();
        }
        StringBuilder decoded = new StringBuilder(path.length());
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c <= ' ' || c >= 0x7F) {
                return Optional.empty();
            }
            if (c != '%') {
                decoded.append(c);
                continue;
            }
            if (i + 2 >= path.length() || hex(path.charAt(i + 1)) < 0 || hex(path.charAt(i + 2)) < 0) {
                return Optional.empty();
            }
            char value = (char) (hex(path.charAt(i + 1)) << 4 | hex(path.charAt(i + 2)));
            if (isUnreserved(value)) {
                decoded.append(value);
            } else {
                // Upper-case hex digits, the normal form (RFC 3986 6.2.2.1).
                decoded.append('%').append(Character.toUpperCase(path.charAt(i + 1)))
                        .append(Character.toUpperCase(path.charAt(i + 2)));
            }
            i += 2;
        }
        return Optional.of(removeDotSegments(decoded.toString()));
    }

    /** RFC 3986 5.2.4, for a path that starts with {@code /}; linear in the path's length. */
    static String removeDotSegments(String path) {
        StringBuilder out = new StringBuilder(path.length());
        int at = 0;
        int length = path.length();
        while (at < length) {
            if (path.startsWith("/./", at)) {
                at += 2;
            } else if (path.startsWith("/.", at) && at + 2 == length) {
                out.append('/');
                at = length;
            } else if (path.startsWith("/../", at)) {
                at += 3;
                removeLastSegment(out);
            } else if (path.startsWith("/..", at) && at + 3 == length) {
                removeLastSegment(out);
                out.append('/');
                at = length;
            } else {
                int next = path.indexOf('/', at + 1);
                if (next < 0) {
                    next = length;
                }
                out.append(path, at, next);
                at = next;
            }
        }
        return out.isEmpty() ? "/" : out.toString();
    }

    private static void removeLastSegment(StringBuilder out) {
        int slash = out.lastIndexOf("/");
        out.setLength(Math.max(slash, 0));
    }

    private static boolean isUnreserved(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~".indexOf(c) >= 0;
    }

    private static int hex(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }
}
