package dev.ferry.config;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Matches connections whose first bytes are a given literal (YAML {@code prefix}).
 *
 * <p>Kept as text rather than {@code byte[]} so the record stays immutable and compares by value. YAML escapes
 * such as {@code "\x01"} reach control bytes; the literal is matched as its UTF-8 encoding.
 *
 * @param literal never empty
 */
public record PrefixMatch(String literal) implements MatchConfig {

    public PrefixMatch {
        Objects.requireNonNull(literal, "literal");
        if (literal.isEmpty()) {
            throw new IllegalArgumentException("empty prefix");
        }
    }

    /** The bytes a connection must start with; a fresh copy each call. */
    public byte[] bytes() {
        return literal.getBytes(StandardCharsets.UTF_8);
    }
}
