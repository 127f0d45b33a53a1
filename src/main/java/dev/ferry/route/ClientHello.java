package dev.ferry.route;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** Reads the TLS ClientHello at the start of a connection. */
public final class ClientHello {

    /** The outcome of reading the first bytes of a connection as TLS. */
    public sealed interface Parsed permits NeedMore, NotTls, Found {
    }

    /** The bytes so far are the start of a ClientHello, but not all of it. */
    public record NeedMore() implements Parsed {
    }

    /** The bytes are not a well-formed ClientHello (within Ferry's size limits), whatever follows. */
    public record NotTls() implements Parsed {
    }

    /**
     * A complete, well-formed ClientHello.
     *
     * @param serverName the {@code host_name} of the server_name extension, lowercased; empty when the client
     *     sent none (e.g. when connecting by IP address)
     *     (e.g. when connecting by IP address). With Encrypted Client Hello this is the outer, public name: the
     *     name the client really wants is encrypted for the backend, and Ferry routes on the public one
     * @param alpnProtocols the application protocols offered, in the client's order (ALPN extension), without
     *     GREASE values (RFC 8701)
     * @param encryptedClientHello whether the hello carries an encrypted_client_hello extension (RFC 9849;
     *     browsers send a GREASE one too, which looks the same from outside)
     */
    public record Found(Optional<String> serverName, List<String> alpnProtocols, boolean encryptedClientHello)
            implements Parsed {

        public Found {
            Objects.requireNonNull(serverName, "serverName");
            alpnProtocols = List.copyOf(alpnProtocols);
        }

        public Found(Optional<String> serverName, List<String> alpnProtocols) {
            this(serverName, alpnProtocols, false);
        }
    }

    public static final NeedMore NEED_MORE = new NeedMore();
    public static final NotTls NOT_TLS = new NotTls();

    private ClientHello() {
    }

    /**
     * Reads a ClientHello from the start of {@code firstBytes}, which may end anywhere: in a record header, in
     * the middle of a record, or between the records a ClientHello was fragmented into. Never throws, reads only
     * between position and limit, and leaves the buffer unchanged.
     */
    public static Parsed parse(ByteBuffer firstBytes) {
        return TlsRecordReassembler.firstClientHello(firstBytes);
    }
}
