package dev.ferry.connect;

import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * What consistent hashing may key a connection on. Only the keys a cluster's {@code hash_on} names are read,
 * so implementations may compute them lazily.
 */
public interface ConnectionKeys {

    /** The TLS server name the client sent, if any. */
    Optional<String> sni();

    /** The HTTP Host header the client sent, if any (a port in it is ignored). */
    Optional<String> host();

    /** The client's address. */
    InetSocketAddress source();

    /** Keys of a connection whose first bytes are not looked at: only the source is known. */
    static ConnectionKeys ofSource(InetSocketAddress source) {
        return of(Optional.empty(), Optional.empty(), source);
    }

    static ConnectionKeys of(Optional<String> sni, Optional<String> host, InetSocketAddress source) {
        return lazy(() -> sni, () -> host, source);
    }

    /** Keys whose SNI and Host are computed only if a cluster hashes on them. */
    static ConnectionKeys lazy(Supplier<Optional<String>> sni, Supplier<Optional<String>> host,
                               InetSocketAddress source) {
        return new ConnectionKeys() {
            @Override
            public Optional<String> sni() {
                return sni.get();
            }

            @Override
            public Optional<String> host() {
                return host.get();
            }

            @Override
            public InetSocketAddress source() {
                return source;
            }
        };
    }
}
