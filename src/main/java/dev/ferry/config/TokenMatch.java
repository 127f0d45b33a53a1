package dev.ferry.config;

import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Matches connections that present a valid authentication token (YAML {@code token}).
 *
 * @param check how a token is recognized as valid
 * @param carrier where in the first bytes the token is
 */
public record TokenMatch(Check check, Carrier carrier) implements MatchConfig {

    public TokenMatch {
        Objects.requireNonNull(check, "check");
        Objects.requireNonNull(carrier, "carrier");
    }

    /** How a token is recognized as valid. */
    public sealed interface Check permits Digests, Hmac {
    }

    /**
     * A token is valid when its SHA-256 digest is one of these (YAML {@code digests}); the configuration never
     * holds the tokens themselves.
     *
     * @param sha256 32-byte digests, as lowercase hex
     */
    public record Digests(List<String> sha256) implements Check {

        public Digests {
            sha256 = List.copyOf(sha256);
            if (sha256.isEmpty()) {
                throw new IllegalArgumentException("no digests");
            }
            for (String hex : sha256) {
                if (hex.length() != 64 || !hex.matches("[0-9a-f]+")) {
                    throw new IllegalArgumentException("not a lowercase SHA-256 hex digest: " + hex);
                }
            }
        }

        public List<byte[]> bytes() {
            return sha256.stream().map(HexFormat.of()::parseHex).toList();
        }
    }

    /**
     * A token is valid when it is {@code <tenant>.<expiry>.<signature>}, signed with the secret, not expired, and
     * (if tenants are listed) of one of the tenants (YAML {@code hmac_secret_env} or {@code hmac_secret_file},
     * and {@code tenants}).
     *
     * @param tenants the tenants accepted; empty for any tenant with a valid signature
     */
    public record Hmac(Secret secret, List<String> tenants) implements Check {

        public Hmac {
            Objects.requireNonNull(secret, "secret");
            tenants = List.copyOf(tenants);
        }
    }

    /** An HMAC key read from the environment or a file; never printed. */
    public static final class Secret {

        private final byte[] key;
        private final String origin;

        /** @param origin where the key came from, for messages, e.g. {@code env FERRY_TOKEN_KEY} */
        public Secret(byte[] key, String origin) {
            this.key = key.clone();
            this.origin = Objects.requireNonNull(origin, "origin");
        }

        /** A fresh copy of the key. */
        public byte[] key() {
            return key.clone();
        }

        public String origin() {
            return origin;
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Secret that && origin.equals(that.origin) && MessageDigest.isEqual(key, that.key);
        }

        @Override
        public int hashCode() {
            return origin.hashCode();
        }

        @Override
        public String toString() {
            return "Secret[from " + origin + "]";
        }
    }

    /** Where the token is carried (YAML {@code from}). */
    public enum From {
        /** A {@code FERRY <token>\n} line before the protocol's own bytes, stripped before forwarding. */
        PREAMBLE,
        /** An HTTP/1.x request header, left in place for the backend. */
        HTTP_HEADER,
        /** The client id of a Kafka-protocol request header, left in place. */
        KAFKA_CLIENT_ID
    }

    /**
     * @param from where the token is
     * @param httpHeader the header name, lowercase; present exactly for {@link From#HTTP_HEADER}
     */
    public record Carrier(From from, Optional<String> httpHeader) {

        public static final Carrier PREAMBLE = new Carrier(From.PREAMBLE, Optional.empty());

        public Carrier {
            Objects.requireNonNull(from, "from");
            Objects.requireNonNull(httpHeader, "httpHeader");
            if (httpHeader.isPresent() != (from == From.HTTP_HEADER)) {
                throw new IllegalArgumentException("an HTTP header name goes with from: http_header, and only with it");
            }
        }
    }
}
