package dev.ferry.admin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.ferry.stats.Stats;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * The operator's view of a running Ferry, in the spirit of Envoy's admin listener:
 * {@code /stats} (Prometheus text) and {@code /ready}.
 */
public final class AdminServer implements AutoCloseable {
    private final HttpServer server;

    private AdminServer(HttpServer server) {
        this.server = server;
    }

    public static AdminServer start(InetSocketAddress address, Stats stats, Supplier<String> gauges) throws IOException {
        HttpServer server = HttpServer.create(address, 16);
        server.createContext("/stats", exchange -> respond(exchange, 200, stats.render() + gauges.get()));
        server.createContext("/ready", exchange -> respond(exchange, 200, "ready\n"));
        server.createContext("/", exchange -> respond(exchange, 404, "try /stats or /ready\n"));
        server.start();
        return new AdminServer(server);
    }

    public InetSocketAddress address() {
        return server.getAddress();
    }

    private static void respond(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
