package dev.ferry.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A real TCP backend on loopback: each accepted connection runs the given session on its own
 * virtual thread; the sessions' results and failures are collected for the test to inspect.
 */
public final class TestBackend implements AutoCloseable {
    /** What the backend does with one accepted connection. */
    @FunctionalInterface
    public interface Session {
        Object serve(Socket socket) throws Exception;
    }

    private final ServerSocket server;
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    private final LinkedBlockingQueue<CompletableFuture<Object>> results = new LinkedBlockingQueue<>();
    private final List<Socket> open = new CopyOnWriteArrayList<>();

    public TestBackend(Session session) {
        try {
            server = new ServerSocket(0, 512, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        threads.execute(() -> acceptLoop(session));
    }

    private void acceptLoop(Session session) {
        while (!server.isClosed()) {
            Socket socket;
            try {
                socket = server.accept();
            } catch (IOException e) {
                return;
            }
            open.add(socket);
            CompletableFuture<Object> result = new CompletableFuture<>();
            results.add(result);
            threads.execute(() -> {
                try (socket) {
                    result.complete(session.serve(socket));
                } catch (Throwable e) {
                    result.completeExceptionally(e);
                } finally {
                    open.remove(socket);
                }
            });
        }
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    public String endpoint() {
        return "127.0.0.1:" + server.getLocalPort();
    }

    /** The result of the next session to finish accepting, waiting at most {@code seconds}. */
    @SuppressWarnings("unchecked")
    public <T> T nextResult(long seconds) throws Exception {
        CompletableFuture<Object> next = results.poll(seconds, TimeUnit.SECONDS);
        if (next == null) {
            throw new AssertionError("the backend accepted no connection within " + seconds + " s");
        }
        return (T) next.get(seconds, TimeUnit.SECONDS);
    }

    public int accepted() {
        return results.size();
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket socket : open) {
            socket.close();
        }
        threads.shutdownNow();
    }
}
