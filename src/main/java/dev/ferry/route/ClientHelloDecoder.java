package dev.ferry.route;

import dev.ferry.config.DnsName;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Decodes a complete ClientHello handshake body (RFC 8446 4.1.2, RFC 5246 7.4.1.2) far enough to find the
 * server name and the ALPN list.
 *
 * <p>Malformed input is refused rather than half-used: a second server_name, say, could be read one way here
 * and another way by the backend, and a route must not be chosen on a name the backend will not see.
 */
final class ClientHelloDecoder {

    private static final int RANDOM_LENGTH = 32;
    private static final int MAX_SESSION_ID_LENGTH = 32;
    private static final int EXTENSION_SERVER_NAME = 0;
    private static final int EXTENSION_ALPN = 16;
    private static final int EXTENSION_ENCRYPTED_CLIENT_HELLO = 0xFE0D;
    private static final int NAME_TYPE_HOST_NAME = 0;

    private ClientHelloDecoder() {
    }

    static ClientHello.Parsed decode(byte[] message, int from, int to) {
        WireReader body = new WireReader(message, from, to);
        int legacyVersion = body.u16();
        body.skip(RANDOM_LENGTH);
        WireReader sessionId = body.u8Prefixed();
        WireReader cipherSuites = body.u16Prefixed();
        WireReader compressionMethods = body.u8Prefixed();
        if (body.failed()
                || legacyVersion >> 8 != 3
                || sessionId.remaining() > MAX_SESSION_ID_LENGTH
                || cipherSuites.remaining() < 2 || cipherSuites.remaining() % 2 != 0
                || compressionMethods.remaining() < 1) {
            return ClientHello.NOT_TLS;
        }
        if (body.isEmpty()) {
            return new ClientHello.Found(Optional.empty(), List.of()); // extensions are optional before TLS 1.3
        }
        WireReader extensions = body.u16Prefixed();
        if (body.failed() || !body.isEmpty()) {
            return ClientHello.NOT_TLS;
        }
        return decodeExtensions(extensions);
    }

    private static ClientHello.Parsed decodeExtensions(WireReader extensions) {
        Optional<String> serverName = Optional.empty();
        List<String> alpnProtocols = List.of();
        boolean sawServerName = false;
        boolean sawAlpn = false;
        boolean encryptedClientHello = false;
        while (!extensions.isEmpty()) {
            int type = extensions.u16();
            WireReader data = extensions.u16Prefixed();
            if (type == EXTENSION_SERVER_NAME) {
                if (sawServerName) {
                    return ClientHello.NOT_TLS;
                }
                sawServerName = true;
                serverName = decodeServerName(data);
            } else if (type == EXTENSION_ALPN) {
                if (sawAlpn) {
                    return ClientHello.NOT_TLS;
                }
                sawAlpn = true;
                alpnProtocols = decodeAlpn(data);
            } else if (type == EXTENSION_ENCRYPTED_CLIENT_HELLO) {
                encryptedClientHello = true;
            }
            if (data.failed()) {
                return ClientHello.NOT_TLS;
            }
        }
        if (extensions.failed()) {
            return ClientHello.NOT_TLS;
        }
        return new ClientHello.Found(serverName, alpnProtocols, encryptedClientHello);
    }

    /** RFC 6066 3: at most one host_name; other name types are skipped. Fails {@code data} when malformed. */
    private static Optional<String> decodeServerName(WireReader data) {
        WireReader names = data.u16Prefixed();
        if (names.isEmpty() || !data.isEmpty()) {
            data.fail();
            return Optional.empty();
        }
        Optional<String> hostName = Optional.empty();
        while (!names.isEmpty()) {
            int nameType = names.u8();
            WireReader name = names.u16Prefixed();
            if (nameType != NAME_TYPE_HOST_NAME) {
                continue;
            }
            String text = name.restAsLatin1();
            if (hostName.isPresent() || !DnsName.isValid(text)) {
                data.fail();
                return Optional.empty();
            }
            hostName = Optional.of(text.toLowerCase(Locale.ROOT));
        }
        if (names.failed()) {
            data.fail();
        }
        return hostName;
    }

    /** RFC 8701 reserves the two-byte ALPN identifiers 0x0A0A, 0x1A1A, ... 0xFAFA. */
    private static boolean isGrease(String protocol) {
        return protocol.length() == 2 && protocol.charAt(0) == protocol.charAt(1) && (protocol.charAt(0) & 0x0F) == 0x0A;
    }

    /** RFC 7301 3.1: a non-empty list of non-empty protocol names. Fails {@code data} when malformed. */
    private static List<String> decodeAlpn(WireReader data) {
        WireReader list = data.u16Prefixed();
        if (list.isEmpty() || !data.isEmpty()) {
            data.fail();
            return List.of();
        }
        List<String> protocols = new ArrayList<>();
        while (!list.isEmpty()) {
            WireReader protocol = list.u8Prefixed();
            if (protocol.isEmpty()) {
                data.fail();
                return List.of();
            }
            String name = protocol.restAsLatin1();
            if (!isGrease(name)) {
                protocols.add(name);
            }
        }
        if (list.failed()) {
            data.fail();
        }
        return protocols;
    }
}
