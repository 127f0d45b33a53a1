package dev.ferry.config;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.SequencedMap;

/** Reads a route's {@code match}: a mapping with exactly one matcher key. */
final class MatchSection {

    /** Reads the value under one matcher key. */
    @FunctionalInterface
    private interface MatcherReader {
        MatchConfig read(YamlNode value, FirstPacketConfig firstPacket) throws ConfigException;
    }

    /** The one place that maps YAML matcher keys to matchers; a new matcher adds a line here. */
    private static final SequencedMap<String, MatcherReader> READERS = readers();
    private static final List<String> KEYS = List.copyOf(READERS.sequencedKeySet());

    private static SequencedMap<String, MatcherReader> readers() {
        SequencedMap<String, MatcherReader> readers = new LinkedHashMap<>();
        readers.put("sni", (value, firstPacket) -> readSni(value));
        readers.put("host", (value, firstPacket) -> readHost(value));
        readers.put("prefix", MatchSection::readPrefix);
        return Collections.unmodifiableSequencedMap(readers);
    }

    private MatchSection() {
    }

    static MatchConfig read(YamlNode match, FirstPacketConfig firstPacket) throws ConfigException {
        YamlMapping matchers = match.mapping(KEYS);
        if (matchers.keys().size() != 1) {
            String given = matchers.keys().isEmpty() ? "none" : String.join(" and ", matchers.keys());
            throw match.error("a match takes exactly one of " + String.join(", ", KEYS) + ", got " + given
                    + (matchers.keys().isEmpty() ? " (leave out 'match' for a catch-all route)" : ""));
        }
        String key = matchers.keys().iterator().next();
        return READERS.get(key).read(matchers.required(key), firstPacket);
    }

    private static SniMatch readSni(YamlNode value) throws ConfigException {
        String pattern = value.nonEmptyText().toLowerCase(Locale.ROOT);
        String name = pattern.startsWith("*.") ? pattern.substring(2) : pattern;
        if (!DnsName.isValid(name)) {
            throw value.error("invalid server name pattern '" + value.text()
                    + "': expected a host name such as api.example.com, or *. followed by one such as *.example.com");
        }
        return new SniMatch(pattern);
    }

    private static HostMatch readHost(YamlNode value) throws ConfigException {
        String host = value.nonEmptyText().toLowerCase(Locale.ROOT);
        if (host.startsWith("[") && host.endsWith("]") && isIpv6Literal(host.substring(1, host.length() - 1))) {
            return new HostMatch(host);
        }
        if (DnsName.isValid(host)) {
            return new HostMatch(host);
        }
        String hint;
        if (host.startsWith("*")) {
            hint = "wildcards are only supported by sni";
        } else if (host.chars().filter(c -> c == ':').count() > 1) {
            hint = "an IPv6 address needs brackets, e.g. [::1]";
        } else if (host.contains(":")) {
            hint = "leave out the port, ports are ignored when matching";
        } else {
            hint = "expected a host name such as api.example.com";
        }
        throw value.error("invalid host '" + value.text() + "': " + hint);
    }

    private static boolean isIpv6Literal(String text) {
        return text.indexOf(':') >= 0
                && text.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.');
    }

    private static PrefixMatch readPrefix(YamlNode value, FirstPacketConfig firstPacket) throws ConfigException {
        String literal = value.nonEmptyText();
        int length = literal.getBytes(StandardCharsets.UTF_8).length;
        if (length > firstPacket.maxBytes()) {
            // Such a prefix could never be seen whole, so the route would stall every connection until the timeout.
            throw value.error("prefix is " + length + " bytes, longer than first_packet.max_bytes ("
                    + firstPacket.maxBytes() + ")");
        }
        return new PrefixMatch(literal);
    }
}
