package dev.ferry.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SequencedMap;
import java.util.regex.Pattern;
import org.snakeyaml.engine.v2.nodes.SequenceNode;

/**
 * Reads a route's {@code match}: a mapping of one or more condition keys, all of which must hold.
 *
 * <p>Keys whose value may be a list ({@code sni: [a.example.com, b.example.com]}) match when any element does.
 * {@code all} and {@code any} take lists of match mappings, {@code not} takes one.
 */
final class MatchSection {

    /** Reads the value under one condition key. */
    @FunctionalInterface
    private interface ConditionReader {
        MatchConfig read(YamlNode value, FirstPacketConfig firstPacket, int depth) throws ConfigException;
    }

    /** The one place that maps YAML condition keys to conditions; a new matcher adds a line here. */
    private static final SequencedMap<String, ConditionReader> READERS = readers();
    private static final List<String> KEYS = List.copyOf(READERS.sequencedKeySet());

    /** Deeper nesting of all/any/not is surely a mistake, and the limit keeps recursion bounded. */
    private static final int MAX_DEPTH = 16;
    private static final int MIN_SECRET_BYTES = 16;
    private static final Pattern METHOD = Pattern.compile("[A-Z]{1,16}");
    private static final Pattern PORT_RANGE = Pattern.compile("(\\d{1,5})(?:-(\\d{1,5}))?");
    private static final Pattern TENANT = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern HEADER_NAME = Pattern.compile("[A-Za-z0-9!#$%&'*+.^_`|~-]+");
    private static final List<String> TOKEN_KEYS =
            List.of("digests", "hmac_secret_env", "hmac_secret_file", "tenants", "from", "header");

    private static SequencedMap<String, ConditionReader> readers() {
        SequencedMap<String, ConditionReader> readers = new LinkedHashMap<>();
        readers.put("sni", (value, firstPacket, depth) -> anyOf(value, MatchSection::readSni));
        readers.put("alpn", (value, firstPacket, depth) -> new AlpnMatch(texts(value, MatchSection::readAlpn)));
        readers.put("tls", (value, firstPacket, depth) -> new TlsMatch(bool(value)));
        readers.put("host", (value, firstPacket, depth) -> anyOf(value, MatchSection::readHost));
        readers.put("method", (value, firstPacket, depth) -> new MethodMatch(texts(value, MatchSection::readMethod)));
        readers.put("path_prefix", (value, firstPacket, depth) -> anyOf(value, MatchSection::readPathPrefix));
        readers.put("source", (value, firstPacket, depth) -> new SourceMatch(elements(value, MatchSection::readCidr)));
        readers.put("destination_port", (value, firstPacket, depth) ->
                new DestinationPortMatch(elements(value, MatchSection::readPorts)));
        readers.put("token", (value, firstPacket, depth) -> readToken(value));
        readers.put("kafka_client_id", (value, firstPacket, depth) -> anyOf(value, MatchSection::readKafkaClientId));
        readers.put("prefix", (value, firstPacket, depth) -> readPrefix(value, firstPacket));
        readers.put("all", (value, firstPacket, depth) -> new AllMatch(readList(value, firstPacket, depth)));
        readers.put("any", (value, firstPacket, depth) -> new AnyMatch(readList(value, firstPacket, depth)));
        readers.put("not", (value, firstPacket, depth) -> new NotMatch(read(value, firstPacket, depth + 1)));
        return Collections.unmodifiableSequencedMap(readers);
    }

    private MatchSection() {
    }

    static MatchConfig read(YamlNode match, FirstPacketConfig firstPacket) throws ConfigException {
        return read(match, firstPacket, 0);
    }

    private static MatchConfig read(YamlNode match, FirstPacketConfig firstPacket, int depth) throws ConfigException {
        if (depth > MAX_DEPTH) {
            throw match.error("conditions nested more than " + MAX_DEPTH + " deep");
        }
        YamlMapping conditions = match.mapping(KEYS);
        if (conditions.keys().isEmpty()) {
            throw match.error("a match needs at least one of " + String.join(", ", KEYS)
                    + (depth == 0 ? " (leave out 'match' for a catch-all route)" : ""));
        }
        List<MatchConfig> all = new ArrayList<>();
        for (String key : conditions.keys()) {
            all.add(READERS.get(key).read(conditions.required(key), firstPacket, depth));
        }
        return all.size() == 1 ? all.getFirst() : new AllMatch(all);
    }

    private static List<MatchConfig> readList(YamlNode value, FirstPacketConfig firstPacket, int depth)
            throws ConfigException {
        List<YamlNode> elements = value.sequence();
        if (elements.isEmpty()) {
            throw value.error("needs at least one match mapping");
        }
        List<MatchConfig> conditions = new ArrayList<>();
        for (YamlNode element : elements) {
            conditions.add(read(element, firstPacket, depth + 1));
        }
        return conditions;
    }

    /** Reads one scalar into one condition. */
    @FunctionalInterface
    private interface ScalarReader<T> {
        T read(YamlNode scalar) throws ConfigException;
    }

    /** A scalar, or a non-empty list of scalars, each read by {@code reader}. */
    private static <T> List<T> elements(YamlNode value, ScalarReader<T> reader) throws ConfigException {
        if (!(value.node() instanceof SequenceNode)) {
            return List.of(reader.read(value));
        }
        List<YamlNode> nodes = value.sequence();
        if (nodes.isEmpty()) {
            throw value.error("must not be an empty list");
        }
        List<T> read = new ArrayList<>();
        for (YamlNode node : nodes) {
            read.add(reader.read(node));
        }
        return read;
    }

    private static List<String> texts(YamlNode value, ScalarReader<String> reader) throws ConfigException {
        return elements(value, reader);
    }

    /** One condition, or {@code any} of several when the value is a list. */
    private static MatchConfig anyOf(YamlNode value, ScalarReader<MatchConfig> reader) throws ConfigException {
        List<MatchConfig> conditions = elements(value, reader);
        return conditions.size() == 1 ? conditions.getFirst() : new AnyMatch(conditions);
    }

    private static boolean bool(YamlNode value) throws ConfigException {
        String text = value.text();
        return switch (text) {
            case "true" -> true;
            case "false" -> false;
            default -> throw value.error("expected true or false, got '" + text + "'");
        };
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

    private static String readAlpn(YamlNode value) throws ConfigException {
        String protocol = value.nonEmptyText();
        if (protocol.getBytes(StandardCharsets.UTF_8).length > 255) {
            throw value.error("an ALPN protocol name is at most 255 bytes");
        }
        return protocol;
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

    private static String readMethod(YamlNode value) throws ConfigException {
        String method = value.nonEmptyText();
        if (!METHOD.matcher(method).matches()) {
            throw value.error("invalid method '" + method + "': methods are 1 to 16 upper-case letters, "
                    + "compared exactly, e.g. GET");
        }
        return method;
    }

    private static PathPrefixMatch readPathPrefix(YamlNode value) throws ConfigException {
        String prefix = value.nonEmptyText();
        if (!prefix.startsWith("/") || prefix.indexOf('?') >= 0 || prefix.indexOf('#') >= 0) {
            throw value.error("invalid path prefix '" + prefix + "': expected a path such as /api/, "
                    + "starting with / and without query or fragment");
        }
        Optional<String> normal = HttpPaths.normalize(prefix);
        if (normal.isEmpty()) {
            throw value.error("invalid path prefix '" + prefix + "': only visible ASCII, and % followed by two hex digits");
        }
        if (!normal.get().equals(prefix)) {
            throw value.error("path prefix '" + prefix + "' is not in normal form, write '" + normal.get()
                    + "' (request paths are compared after decoding %-escaped unreserved characters and "
                    + "removing . and .. segments)");
        }
        return new PathPrefixMatch(prefix);
    }

    private static Cidr readCidr(YamlNode value) throws ConfigException {
        try {
            return Cidr.parse(value.nonEmptyText());
        } catch (IllegalArgumentException invalid) {
            throw value.error(invalid.getMessage());
        }
    }

    private static DestinationPortMatch.Range readPorts(YamlNode value) throws ConfigException {
        String text = value.nonEmptyText();
        java.util.regex.Matcher range = PORT_RANGE.matcher(text);
        if (!range.matches()) {
            throw value.error("invalid port '" + text + "': expected a port such as 443 or a range such as 8000-8099");
        }
        int first = Integer.parseInt(range.group(1));
        int last = range.group(2) == null ? first : Integer.parseInt(range.group(2));
        if (first < 1 || last > 65535 || first > last) {
            throw value.error("invalid port '" + text + "': ports are 1..65535, and a range goes upwards");
        }
        return new DestinationPortMatch.Range(first, last);
    }

    private static KafkaClientIdMatch readKafkaClientId(YamlNode value) throws ConfigException {
        String pattern = value.nonEmptyText();
        int star = pattern.indexOf('*');
        if (star >= 0 && star != pattern.length() - 1) {
            throw value.error("invalid client id pattern '" + pattern + "': '*' may only end it, as in tenant-*");
        }
        return new KafkaClientIdMatch(pattern);
    }

    private static TokenMatch readToken(YamlNode value) throws ConfigException {
        YamlMapping token = value.mapping(TOKEN_KEYS);
        List<String> checks = token.keys().stream()
                .filter(key -> List.of("digests", "hmac_secret_env", "hmac_secret_file").contains(key)).toList();
        if (checks.size() != 1) {
            throw value.error("a token takes exactly one of digests, hmac_secret_env, hmac_secret_file, got "
                    + (checks.isEmpty() ? "none" : String.join(" and ", checks)));
        }
        TokenMatch.Check check;
        if (checks.getFirst().equals("digests")) {
            if (token.optional("tenants").isPresent()) {
                throw token.required("tenants").error("tenants go with hmac_secret_env or hmac_secret_file");
            }
            check = new TokenMatch.Digests(elements(token.required("digests"), MatchSection::readDigest));
        } else {
            TokenMatch.Secret secret = checks.getFirst().equals("hmac_secret_env")
                    ? secretFromEnv(token.required("hmac_secret_env"))
                    : secretFromFile(token.required("hmac_secret_file"));
            Optional<YamlNode> tenantsNode = token.optional("tenants");
            List<String> tenants = tenantsNode.isPresent() ? elements(tenantsNode.get(), MatchSection::readTenant) : List.of();
            check = new TokenMatch.Hmac(secret, tenants);
        }
        return new TokenMatch(check, readCarrier(token));
    }

    private static TokenMatch.Carrier readCarrier(YamlMapping token) throws ConfigException {
        Optional<YamlNode> fromNode = token.optional("from");
        Optional<YamlNode> headerNode = token.optional("header");
        String from = fromNode.isPresent() ? fromNode.get().text() : "preamble";
        return switch (from) {
            case "preamble", "kafka_client_id" -> {
                if (headerNode.isPresent()) {
                    throw headerNode.get().error("header goes with from: http_header");
                }
                yield from.equals("preamble") ? TokenMatch.Carrier.PREAMBLE
                        : new TokenMatch.Carrier(TokenMatch.From.KAFKA_CLIENT_ID, Optional.empty());
            }
            case "http_header" -> {
                if (headerNode.isEmpty()) {
                    throw fromNode.get().error("from: http_header needs header: <name>, e.g. header: X-Ferry-Token");
                }
                String name = headerNode.get().nonEmptyText();
                if (!HEADER_NAME.matcher(name).matches()) {
                    throw headerNode.get().error("invalid header name '" + name + "'");
                }
                yield new TokenMatch.Carrier(TokenMatch.From.HTTP_HEADER, Optional.of(name.toLowerCase(Locale.ROOT)));
            }
            default -> throw fromNode.get().error("unknown token carrier '" + from
                    + "' (allowed: preamble, http_header, kafka_client_id)");
        };
    }

    private static String readDigest(YamlNode value) throws ConfigException {
        String hex = value.nonEmptyText().toLowerCase(Locale.ROOT);
        if (hex.length() != 64 || !hex.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            throw value.error("expected a SHA-256 digest as 64 hex digits (e.g. from: printf %s \"$TOKEN\" | sha256sum), "
                    + "not the token itself");
        }
        return hex;
    }

    private static String readTenant(YamlNode value) throws ConfigException {
        String tenant = value.nonEmptyText();
        if (!TENANT.matcher(tenant).matches()) {
            throw value.error("invalid tenant '" + tenant + "': use 1 to 64 letters, digits, '_' or '-'");
        }
        return tenant;
    }

    private static TokenMatch.Secret secretFromEnv(YamlNode value) throws ConfigException {
        String name = value.nonEmptyText();
        if (!ENV_NAME.matcher(name).matches()) {
            throw value.error("invalid environment variable name '" + name + "'");
        }
        String secret = System.getenv(name);
        if (secret == null || secret.isEmpty()) {
            throw value.error("environment variable " + name + " is not set (it holds the HMAC secret)");
        }
        return checkedSecret(value, secret.getBytes(StandardCharsets.UTF_8), "env " + name);
    }

    private static TokenMatch.Secret secretFromFile(YamlNode value) throws ConfigException {
        Path file = Path.of(value.nonEmptyText());
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException | SecurityException unreadable) {
            throw value.error("cannot read the HMAC secret file " + file + ": " + unreadable);
        }
        // A trailing line end is an editor's, not part of the secret.
        int length = bytes.length;
        while (length > 0 && (bytes[length - 1] == '\n' || bytes[length - 1] == '\r')) {
            length--;
        }
        return checkedSecret(value, Arrays.copyOf(bytes, length), "file " + file);
    }

    private static TokenMatch.Secret checkedSecret(YamlNode value, byte[] key, String origin) throws ConfigException {
        if (key.length < MIN_SECRET_BYTES) {
            throw value.error("the HMAC secret from " + origin + " is " + key.length + " bytes, at least "
                    + MIN_SECRET_BYTES + " are needed (e.g. openssl rand -hex 32)");
        }
        return new TokenMatch.Secret(key, origin);
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
