package dev.ferry.route;

import dev.ferry.config.DnsName;
import java.util.Locale;
import java.util.Optional;

/** Finds the host in HTTP authorities ({@code host[:port]}) and absolute-form request targets. */
final class HostSyntax {

    private static final int MAX_PORT_DIGITS = 5;

    private HostSyntax() {
    }

    /**
     * The authority of an {@code http://} or {@code https://} target (RFC 9112 3.2.2), without userinfo; empty
     * for any other target form.
     */
    static Optional<String> absoluteFormAuthority(String target) {
        String lower = target.toLowerCase(Locale.ROOT);
        int schemeEnd = lower.startsWith("http://") ? 7 : lower.startsWith("https://") ? 8 : -1;
        if (schemeEnd < 0) {
            return Optional.empty();
        }
        int authorityEnd = schemeEnd;
        while (authorityEnd < target.length() && "/?#".indexOf(target.charAt(authorityEnd)) < 0) {
            authorityEnd++;
        }
        String authority = target.substring(schemeEnd, authorityEnd);
        return Optional.of(authority.substring(authority.lastIndexOf('@') + 1));
    }

    /**
     * The host of {@code host[:port]} or {@code [ipv6][:port]}, lowercased and without port; empty when the
     * authority is malformed.
     */
    static Optional<String> hostOfAuthority(String authority) {
        String host;
        String portPart;
        if (authority.startsWith("[")) {
            int close = authority.indexOf(']');
            if (close < 0 || !isIpv6Literal(authority.substring(1, close))) {
                return Optional.empty();
            }
            host = authority.substring(0, close + 1);
            portPart = authority.substring(close + 1);
        } else {
            int colon = authority.indexOf(':');
            host = colon < 0 ? authority : authority.substring(0, colon);
            portPart = colon < 0 ? "" : authority.substring(colon);
            if (!DnsName.isValid(host)) {
                return Optional.empty();
            }
        }
        if (!portPart.isEmpty() && !isPortSuffix(portPart)) {
            return Optional.empty();
        }
        return Optional.of(host.toLowerCase(Locale.ROOT));
    }

    private static boolean isIpv6Literal(String text) {
        return text.indexOf(':') >= 0 && text.chars().allMatch(c -> isHexDigit(c) || c == ':' || c == '.');
    }

    private static boolean isHexDigit(int c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    /** {@code :} then up to five digits; RFC 3986 allows the digits to be absent. */
    private static boolean isPortSuffix(String text) {
        return text.charAt(0) == ':'
                && text.length() - 1 <= MAX_PORT_DIGITS
                && text.chars().skip(1).allMatch(c -> c >= '0' && c <= '9');
    }
}
