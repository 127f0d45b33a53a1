package dev.ferry.config;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;

/**
 * A YAML node with its field path and file, so that every typed read can fail with a message that says where.
 *
 * @param node the composed node; only read, never changed
 * @param path e.g. {@code listeners[0].routes[2]}; empty for the document root
 * @param source the file name used in messages
 */
record YamlNode(Node node, String path, String source) {

    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    private static final Pattern DECIMAL = Pattern.compile("[+-]?\\d+");

    ConfigException error(String problem) {
        return new ConfigException(source, line(), column(), path.isEmpty() ? "(root)" : path, problem);
    }

    /** Counted from 1, as editors do. */
    int line() {
        return node.getStartMark().map(Mark::getLine).orElse(0) + 1;
    }

    int column() {
        return node.getStartMark().map(Mark::getColumn).orElse(0) + 1;
    }

    YamlNode child(String key, Node child) {
        return new YamlNode(child, path.isEmpty() ? key : path + "." + key, source);
    }

    /** The entries of a mapping, refusing keys outside {@code allowedKeys} and keys given twice. */
    YamlMapping mapping(List<String> allowedKeys) throws ConfigException {
        if (!(node instanceof MappingNode mappingNode)) {
            throw error("expected a mapping, got " + describe());
        }
        Map<String, YamlNode> entries = new LinkedHashMap<>();
        for (NodeTuple tuple : mappingNode.getValue()) {
            String key = keyText(tuple.getKeyNode());
            YamlNode keyNode = child(key, tuple.getKeyNode());
            if (!allowedKeys.contains(key)) {
                throw keyNode.error("unknown key '" + key + "' (allowed: " + String.join(", ", allowedKeys) + ")");
            }
            if (entries.containsKey(key)) {
                throw keyNode.error("duplicate key '" + key + "'");
            }
            entries.put(key, child(key, tuple.getValueNode()));
        }
        return new YamlMapping(this, entries);
    }

    private String keyText(Node keyNode) throws ConfigException {
        YamlNode key = new YamlNode(keyNode, path, source);
        if (keyNode instanceof ScalarNode scalar && !Tag.NULL.equals(scalar.getTag())) {
            return scalar.getValue();
        }
        throw key.error("expected a plain key, got " + key.describe());
    }

    /** The elements of a sequence, each with its index in the path. */
    List<YamlNode> sequence() throws ConfigException {
        if (!(node instanceof SequenceNode sequenceNode)) {
            throw error("expected a list, got " + describe());
        }
        List<YamlNode> elements = new ArrayList<>();
        for (Node element : sequenceNode.getValue()) {
            elements.add(new YamlNode(element, path + "[" + elements.size() + "]", source));
        }
        return elements;
    }

    /** The text of a scalar, exactly as written once YAML quoting is undone. */
    String text() throws ConfigException {
        if (node instanceof ScalarNode scalar && !Tag.NULL.equals(scalar.getTag())) {
            return scalar.getValue();
        }
        throw error("expected a string, got " + describe());
    }

    /** A name other parts of the file, logs and stats refer to. */
    String identifier() throws ConfigException {
        String text = text();
        if (!IDENTIFIER.matcher(text).matches()) {
            throw error("invalid name '" + text + "': use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit");
        }
        return text;
    }

    String nonEmptyText() throws ConfigException {
        String text = text();
        if (text.isEmpty()) {
            throw error("must not be empty");
        }
        return text;
    }

    int positiveInt(int max) throws ConfigException {
        String text = scalarOrTypeError("an integer");
        if (!DECIMAL.matcher(text).matches()) {
            throw error("expected a whole number, got '" + text + "'");
        }
        BigInteger value = new BigInteger(text);
        if (value.signum() <= 0) {
            throw error("must be positive, got " + text);
        }
        if (value.compareTo(BigInteger.valueOf(max)) > 0) {
            throw error("must be at most " + max + ", got " + text);
        }
        return value.intValueExact();
    }

    /**
     * A size in bytes: a whole number, or one with a KiB, MiB or GiB suffix ("4MiB"); zero allowed,
     * since for limits it means "none".
     */
    long byteSize(long max) throws ConfigException {
        String text = scalarOrTypeError("a size such as 4194304 or 4MiB");
        java.util.regex.Matcher size = java.util.regex.Pattern.compile("([0-9]{1,19})\\s*(KiB|MiB|GiB)?").matcher(text.trim());
        if (!size.matches()) {
            throw error("expected a size in bytes such as 4194304 or 4MiB (suffixes KiB, MiB, GiB), got '" + text + "'");
        }
        long unit = size.group(2) == null ? 1 : switch (size.group(2)) {
            case "KiB" -> 1L << 10;
            case "MiB" -> 1L << 20;
            default -> 1L << 30;
        };
        BigInteger value = new BigInteger(size.group(1)).multiply(BigInteger.valueOf(unit));
        if (value.compareTo(BigInteger.valueOf(max)) > 0) {
            throw error("must be at most " + max + " bytes, got " + text);
        }
        return value.longValueExact();
    }

    /** YAML's {@code true} or {@code false}. */
    boolean bool() throws ConfigException {
        String text = scalarOrTypeError("true or false");
        return switch (text) {
            case "true" -> true;
            case "false" -> false;
            default -> throw error("expected true or false, got '" + text + "'");
        };
    }

    boolean isMapping() {
        return node instanceof MappingNode;
    }

    /** A cluster endpoint: an IP literal or a DNS name, with a port. */
    InetSocketAddress endpoint() throws ConfigException {
        String text = scalarOrTypeError("an endpoint such as 127.0.0.1:9001 or backend.internal:9001");
        try {
            return SocketAddresses.parseEndpoint(text);
        } catch (IllegalArgumentException invalid) {
            throw error(invalid.getMessage());
        }
    }

    Duration duration() throws ConfigException {
        String text = scalarOrTypeError("a duration such as 5s");
        try {
            return Durations.parse(text);
        } catch (IllegalArgumentException invalid) {
            throw error(invalid.getMessage());
        }
    }

    InetSocketAddress address(SocketAddresses.Port portRule) throws ConfigException {
        String text = scalarOrTypeError("an address such as 127.0.0.1:8443");
        try {
            return SocketAddresses.parse(text, portRule);
        } catch (IllegalArgumentException invalid) {
            throw error(invalid.getMessage());
        }
    }

    private String scalarOrTypeError(String expected) throws ConfigException {
        if (node instanceof ScalarNode scalar && !Tag.NULL.equals(scalar.getTag())) {
            return scalar.getValue();
        }
        throw error("expected " + expected + ", got " + describe());
    }

    private String describe() {
        return switch (node) {
            case MappingNode ignored -> "a mapping";
            case SequenceNode ignored -> "a list";
            case ScalarNode scalar when Tag.NULL.equals(scalar.getTag()) -> "nothing (null)";
            case ScalarNode scalar -> "'" + scalar.getValue() + "'";
            default -> "a " + node.getNodeType().name().toLowerCase();
        };
    }
}
