package dev.ferry.route;

import dev.ferry.config.TokenMatch;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Matches connections that present a valid token, in a {@code FERRY <token>} preamble, an HTTP/1.x header or the
 * Kafka client id. When the token is missing or invalid the condition is false and
 * {@link #refusalReason} says why: {@code missing_token}, {@code bad_token}, {@code expired_token} or
 * {@code wrong_tenant}. Nothing here ever puts the token in a message.
 *
 * <p>Digests and signatures are compared in constant time ({@link MessageDigest#isEqual}), and every configured
 * digest is compared, so that timing does not tell how much of a guess was right.
 */
public final class TokenMatcher implements Matcher {

    public static final String MISSING = "missing_token";
    public static final String BAD = "bad_token";
    public static final String EXPIRED = "expired_token";
    public static final String WRONG_TENANT = "wrong_tenant";

    private static final Pattern TENANT = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final Pattern EXPIRY = Pattern.compile("[0-9]{1,18}");
    private static final int SIGNATURE_LENGTH = 32;

    private enum Verdict { VALID, WAITING, MISSING, BAD, EXPIRED, WRONG_TENANT }

    private final TokenMatch config;
    private final List<byte[]> digests;
    private final ThreadLocal<Mac> mac;
    private final Clock clock;

    public TokenMatcher(TokenMatch config, Clock clock) {
        this.config = config;
        this.clock = clock;
        if (config.check() instanceof TokenMatch.Digests digestCheck) {
            this.digests = digestCheck.bytes();
            this.mac = null;
        } else {
            TokenMatch.Hmac hmac = (TokenMatch.Hmac) config.check();
            SecretKeySpec key = new SecretKeySpec(hmac.secret().key(), "HmacSHA256");
            this.digests = List.of();
            // Mac objects are not thread-safe, and routers serve every event loop thread.
            this.mac = ThreadLocal.withInitial(() -> {
                try {
                    Mac instance = Mac.getInstance("HmacSHA256");
                    instance.init(key);
                    return instance;
                } catch (GeneralSecurityException unavailable) {
                    throw new IllegalStateException("HmacSHA256 is part of every JDK", unavailable);
                }
            });
        }
    }

    /** Whether this matcher reads a {@code FERRY} preamble, which the router must then look for and strip. */
    public boolean usesPreamble() {
        return config.carrier().from() == TokenMatch.From.PREAMBLE;
    }

    @Override
    public Match test(FirstBytes connection) {
        return switch (verdict(connection)) {
            case VALID -> Match.YES;
            case WAITING -> Match.NEED_MORE;
            default -> Match.NO;
        };
    }

    @Override
    public Optional<String> refusalReason(FirstBytes connection) {
        return switch (verdict(connection)) {
            case VALID, WAITING -> Optional.empty();
            case MISSING -> Optional.of(MISSING);
            case BAD -> Optional.of(BAD);
            case EXPIRED -> Optional.of(EXPIRED);
            case WRONG_TENANT -> Optional.of(WRONG_TENANT);
        };
    }

    private Verdict verdict(FirstBytes connection) {
        return switch (config.carrier().from()) {
            case PREAMBLE -> switch (connection.preamble()) {
                case TokenPreamble.NeedMore needMore -> Verdict.WAITING;
                case TokenPreamble.Absent absent -> Verdict.MISSING;
                case TokenPreamble.Malformed malformed -> Verdict.BAD;
                case TokenPreamble.Found found -> check(found.token());
            };
            case HTTP_HEADER -> switch (HttpRequestHead.parseHeader(connection.bytes(), config.carrier().httpHeader().orElseThrow())) {
                case HttpRequestHead.NeedMore needMore -> Verdict.WAITING;
                case HttpRequestHead.NotHttp notHttp -> Verdict.MISSING;
                case HttpRequestHead.HeaderFound found -> found.value().map(TokenMatcher::withoutBearer)
                        .filter(value -> !value.isEmpty()).map(this::check).orElse(Verdict.MISSING);
            };
            case KAFKA_CLIENT_ID -> switch (connection.kafkaHeader()) {
                case KafkaRequestHeader.NeedMore needMore -> Verdict.WAITING;
                case KafkaRequestHeader.NotKafka notKafka -> Verdict.MISSING;
                case KafkaRequestHeader.Found found -> found.clientId().map(this::check).orElse(Verdict.MISSING);
            };
        };
    }

    /** {@code Authorization: Bearer <token>} is the common way to send one. */
    private static String withoutBearer(String value) {
        return value.regionMatches(true, 0, "Bearer ", 0, 7) ? value.substring(7).strip() : value;
    }

    private Verdict check(String token) {
        if (token.length() > TokenPreamble.MAX_TOKEN_LENGTH) {
            return Verdict.BAD;
        }
        return mac == null ? checkDigest(token) : checkSignature(token);
    }

    private Verdict checkDigest(String token) {
        byte[] digest = sha256(token.getBytes(StandardCharsets.UTF_8));
        boolean found = false;
        for (byte[] expected : digests) {
            found |= MessageDigest.isEqual(expected, digest);
        }
        return found ? Verdict.VALID : Verdict.BAD;
    }

    /** {@code <tenant>.<expiry>.<base64url(hmac-sha256(secret, tenant + "." + expiry))>}. */
    private Verdict checkSignature(String token) {
        int firstDot = token.indexOf('.');
        int secondDot = firstDot < 0 ? -1 : token.indexOf('.', firstDot + 1);
        if (secondDot < 0 || token.indexOf('.', secondDot + 1) >= 0) {
            return Verdict.BAD;
        }
        String tenant = token.substring(0, firstDot);
        String expiry = token.substring(firstDot + 1, secondDot);
        if (!TENANT.matcher(tenant).matches() || !EXPIRY.matcher(expiry).matches()) {
            return Verdict.BAD;
        }
        byte[] signature;
        try {
            signature = Base64.getUrlDecoder().decode(token.substring(secondDot + 1));
        } catch (IllegalArgumentException notBase64) {
            return Verdict.BAD;
        }
        if (signature.length != SIGNATURE_LENGTH) {
            return Verdict.BAD;
        }
        byte[] expected = mac.get().doFinal(token.substring(0, secondDot).getBytes(StandardCharsets.US_ASCII));
        if (!MessageDigest.isEqual(expected, signature)) {
            return Verdict.BAD;
        }
        // Only a genuine token learns that it expired or is for another tenant.
        if (Long.parseLong(expiry) <= clock.instant().getEpochSecond()) {
            return Verdict.EXPIRED;
        }
        List<String> tenants = ((TokenMatch.Hmac) config.check()).tenants();
        return tenants.isEmpty() || tenants.contains(tenant) ? Verdict.VALID : Verdict.WRONG_TENANT;
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (GeneralSecurityException unavailable) {
            throw new IllegalStateException("SHA-256 is part of every JDK", unavailable);
        }
    }

    @Override
    public String toString() {
        return "TokenMatcher[" + config.check().getClass().getSimpleName().toLowerCase(Locale.ROOT) + " from "
                + config.carrier().from().name().toLowerCase(Locale.ROOT) + "]";
    }
}
