package dev.ferry.config;

/**
 * The syntax of host names that Ferry matches on: dot-separated labels of letters, digits, {@code -} and
 * {@code _}, each 1 to 63 characters, at most 253 in all, no trailing dot.
 *
 * <p>Shared by the configuration and by the parsers of what clients send, so that a name Ferry accepts on the
 * wire can always be written in a route and the other way round. Underscores are allowed because internal
 * names use them, even though strict host name rules do not.
 */
public final class DnsName {

    private static final int MAX_LENGTH = 253;
    private static final int MAX_LABEL_LENGTH = 63;

    private DnsName() {
    }

    public static boolean isValid(CharSequence name) {
        int length = name.length();
        if (length == 0 || length > MAX_LENGTH) {
            return false;
        }
        int labelLength = 0;
        for (int i = 0; i < length; i++) {
            char c = name.charAt(i);
            if (c == '.') {
                if (labelLength == 0) {
                    return false;
                }
                labelLength = 0;
            } else if (isLabelChar(c)) {
                if (++labelLength > MAX_LABEL_LENGTH) {
                    return false;
                }
            } else {
                return false;
            }
        }
        return labelLength > 0;
    }

    private static boolean isLabelChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    }
}
