package dev.ferry.connect;

import java.io.IOException;
import java.net.InetAddress;
import java.util.List;

/** Resolves an endpoint's DNS name to its addresses, A and AAAA. Blocking; called off the event loops. */
@FunctionalInterface
public interface Resolver {

    List<InetAddress> resolve(String name) throws IOException;

    /** The system resolver (/etc/hosts, then DNS), through the JVM's cache. */
    Resolver SYSTEM = name -> List.of(InetAddress.getAllByName(name));
}
