package dev.ferry.cli;

import dev.ferry.echo.EchoServer;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "echo", mixinStandardHelpOptions = true,
        description = "Echo server whose every byte is sent back by the kernel through the sockmap; the JVM never reads the payload.")
final class EchoCommand implements Callable<Integer> {

    @Option(names = {"-l", "--listen"}, required = true, paramLabel = "HOST:PORT",
            converter = HostPortConverter.class, description = "Address to listen on, e.g. 127.0.0.1:7007 or [::1]:7007.")
    java.net.InetSocketAddress listen;

    @Option(names = "--max-connections", defaultValue = "65536", description = "Sockets the kernel map can hold (default ${DEFAULT-VALUE}).")
    int maxConnections;

    @Override
    public Integer call() throws Exception {
        EchoServer server = EchoServer.start(listen, maxConnections, Duration.ofHours(1));
        System.out.println("ferry echo: listening on " + server.localAddress() + " (try: socat - TCP:"
                + server.localAddress().getHostString() + ":" + server.localAddress().getPort() + ")");
        UntilStopped.await(server);
        return 0;
    }
}
