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
