package dev.ferry.route;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/** ClientHellos for tests: real ones from the JDK's TLS stack, and re-framed or hand-made variants. */
final class TlsHellos {

    private TlsHellos() {
    }

    /**
     * The first flight of a JDK TLS client, which is one record holding the ClientHello.
     *
     * @param serverName null for a hello without the server_name extension
     */
    static byte[] fromJdk(String protocol, String serverName, String... alpn) throws Exception {
        SSLEngine engine = serverName == null
                ? SSLContext.getDefault().createSSLEngine()
                : SSLContext.getDefault().createSSLEngine(serverName, 443);
        engine.setUseClientMode(true);
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setProtocols(new String[] {protocol});
        parameters.setServerNames(serverName == null ? List.of() : List.<SNIServerName>of(new SNIHostName(serverName)));
        parameters.setApplicationProtocols(alpn);
        engine.setSSLParameters(parameters);
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] bytes = new byte[out.remaining()];
        out.get(bytes);
        return bytes;
    }

    /** The handshake messages carried by the records in {@code records}, concatenated. */
    static byte[] handshakeBytes(byte[] records) {
        ByteArrayOutputStream messages = new ByteArrayOutputStream();
        int at = 0;
        while (at < records.length) {
            int length = (records[at + 3] & 0xFF) << 8 | (records[at + 4] & 0xFF);
            messages.write(records, at + 5, length);
            at += 5 + length;
        }
        return messages.toByteArray();
    }

    /**
     * The same handshake bytes, re-framed into records whose fragments have the given sizes; the last record
     * takes whatever is left.
     */
    static byte[] reframed(byte[] records, int... fragmentSizes) {
        byte[] messages = handshakeBytes(records);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int at = 0;
        for (int i = 0; at < messages.length; i++) {
            int size = i < fragmentSizes.length ? fragmentSizes[i] : messages.length - at;
            size = Math.min(size, messages.length - at);
            out.writeBytes(recordHeader(22, records[2], size));
            out.write(messages, at, size);
            at += size;
        }
        return out.toByteArray();
    }

    /** Every fragment one byte long: legal TLS, and the hardest case for reassembly. */
    static byte[] oneByteRecords(byte[] records) {
        int[] ones = new int[handshakeBytes(records).length];
        Arrays.fill(ones, 1);
        return reframed(records, ones);
    }

    static byte[] recordHeader(int contentType, int minorVersion, int length) {
        return new byte[] {(byte) contentType, 3, (byte) minorVersion, (byte) (length >> 8), (byte) length};
    }

    /** A ClientHello in one record with exactly the given extension block contents, for malformed cases. */
    static byte[] withExtensions(byte[]... extensions) {
        ByteArrayOutputStream extensionBlock = new ByteArrayOutputStream();
        for (byte[] extension : extensions) {
            extensionBlock.writeBytes(extension);
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(new byte[] {3, 3});
        body.writeBytes(new byte[32]); // random
        body.write(0); // session id
        body.writeBytes(new byte[] {0, 2, 0x13, 0x01}); // one cipher suite
        body.writeBytes(new byte[] {1, 0}); // null compression
        body.writeBytes(u16(extensionBlock.size()));
        body.writeBytes(extensionBlock.toByteArray());
        return inRecord(handshake(body.toByteArray()));
    }

    /**
     * A ClientHello laid out as Chrome 13x sends it (extension order and contents from its published JA4 string:
     * GREASE cipher, GREASE extensions first and last, GREASE group, key share and version, X25519MLKEM768 key
     * share, ALPS, an encrypted_client_hello extension), in one record. Not a capture: built here, with a fresh
     * GREASE value each place as Chrome does.
     *
     * @param serverName the (outer) server name
     */
    static byte[] chromeShaped(String serverName, int greaseSeed) {
        int[] grease = new int[6];
        for (int i = 0; i < grease.length; i++) {
            int nibble = (greaseSeed + i * 5) & 0x0F;
            grease[i] = nibble << 12 | 0x0A00 | nibble << 4 | 0x0A;
        }
        java.util.Random random = new java.util.Random(greaseSeed);
        byte[] ciphers = concat(u16(grease[0]), hex("130113021303c02bc02fc02cc030cca9cca8c013c014009c009d002f0035"));
        byte[] keyShare = concat(u16(grease[1]), u16(1), new byte[] {0},
                u16(0x11EC), u16(1216), randomBytes(random, 1216), u16(0x001D), u16(32), randomBytes(random, 32));
        byte[] echPayload = concat(new byte[] {0}, u16(0x0001), u16(0x0001), new byte[] {(byte) random.nextInt(256)},
                u16(32), randomBytes(random, 32), u16(144), randomBytes(random, 144));
        byte[] body = concat(
                u16(0x0303), randomBytes(random, 32), new byte[] {32}, randomBytes(random, 32),
                u16(ciphers.length), ciphers, new byte[] {1, 0});
        byte[] extensions = concat(
                extension(grease[2], new byte[0]),
                extension(0x002D, new byte[] {1, 1}),                                 // psk_key_exchange_modes
                extension(0x0033, concat(u16(keyShare.length), keyShare)),            // key_share
                extension(0x0010, concat(u16(12), new byte[] {2, 'h', '2'},            // ALPN
                        new byte[] {8, 'h', 't', 't', 'p', '/', '1', '.', '1'})),
                extension(0xFE0D, echPayload),                                        // encrypted_client_hello
                extension(0x0017, new byte[0]),                                       // extended_master_secret
                extension(0x44CD, concat(u16(3), new byte[] {2, 'h', '2'})),           // application_settings
                serverNameExtension(serverName),
                extension(0x000B, new byte[] {1, 0}),                                 // ec_point_formats
                extension(0x000A, concat(u16(10), u16(grease[3]), u16(0x11EC), u16(0x001D), u16(0x0017), u16(0x0018))),
                extension(0x002B, concat(new byte[] {6}, u16(grease[4]), u16(0x0304), u16(0x0303))),
                extension(0xFF01, new byte[] {0}),                                    // renegotiation_info
                extension(0x0023, new byte[0]),                                       // session_ticket
                extension(0x0012, new byte[0]),                                       // signed_certificate_timestamp
                extension(0x0005, new byte[] {1, 0, 0, 0, 0}),                        // status_request
                extension(0x000D, concat(u16(16), hex("04030804040105030805050108060601"))),
                extension(0x001B, new byte[] {2, 0, 2}),                              // compress_certificate
                extension(grease[5], new byte[] {0}));
        return inRecord(handshake(concat(body, u16(extensions.length), extensions)));
    }

    private static byte[] randomBytes(java.util.Random random, int length) {
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        return bytes;
    }

    static byte[] hex(String hex) {
        return java.util.HexFormat.of().parseHex(hex);
    }

    static byte[] extension(int type, byte[] data) {
        return concat(u16(type), u16(data.length), data);
    }

    /** A server_name extension holding one entry per name, each of name type host_name. */
    static byte[] serverNameExtension(String... names) {
        ByteArrayOutputStream list = new ByteArrayOutputStream();
        for (String name : names) {
            byte[] bytes = name.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
            list.write(0);
            list.writeBytes(u16(bytes.length));
            list.writeBytes(bytes);
        }
        return extension(0, concat(u16(list.size()), list.toByteArray()));
    }

    static byte[] handshake(byte[] clientHelloBody) {
        int length = clientHelloBody.length;
        return concat(new byte[] {1, (byte) (length >> 16), (byte) (length >> 8), (byte) length}, clientHelloBody);
    }

    static byte[] inRecord(byte[] handshakeMessage) {
        return concat(recordHeader(22, 1, handshakeMessage.length), handshakeMessage);
    }

    static byte[] u16(int value) {
        return new byte[] {(byte) (value >> 8), (byte) value};
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }
}
