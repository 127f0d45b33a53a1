package dev.ferry.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;

/**
 * One end of an integrity test: writes a seeded random stream and then shuts its output down,
 * while reading the other end's stream to EOF and hashing it. Both directions run at once.
 */
public final class HashPeer {
    /** What one end received: byte count and SHA-256. */
    public record Received(long bytes, String sha256) {}

    private HashPeer() {
    }

    public static CompletableFuture<Received> run(Socket socket, long seed, long length) {
        return sendAsync(socket, seed, length).thenCombine(receiveAsync(socket), (ignored, result) -> result);
    }

    /** {@link #send}, then the end of the stream, on a thread of its own. */
    public static CompletableFuture<Void> sendAsync(Socket socket, long seed, long length) {
        return CompletableFuture.runAsync(() -> {
            try {
                send(socket, seed, length);
                socket.shutdownOutput();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, Threads.VIRTUAL);
    }

    /** {@link #receive} of the socket's input, on a thread of its own. */
    public static CompletableFuture<Received> receiveAsync(Socket socket) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return receive(socket.getInputStream());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, Threads.VIRTUAL);
    }

    /**
     * Sends and receives one byte before the streams start. Through Ferry, a byte from the backend
     * can only reach the client once the pair was handed off, so the streams and their FINs all
     * cross the data plane rather than racing the handoff.
     */
    public static void syncAsClient(Socket socket) throws IOException {
        socket.getOutputStream().write('S');
        socket.getOutputStream().flush();
        if (socket.getInputStream().read() != 'S') {
            throw new IOException("no sync byte from the backend");
        }
    }

    public static void syncAsBackend(Socket socket) throws IOException {
        if (socket.getInputStream().read() != 'S') {
            throw new IOException("no sync byte from the client");
        }
        socket.getOutputStream().write('S');
        socket.getOutputStream().flush();
    }

    public static void send(Socket socket, long seed, long length) throws IOException {
        RandomStream stream = new RandomStream(seed, length);
        OutputStream out = socket.getOutputStream();
        byte[] buffer = new byte[128 * 1024];
        int n;
        while ((n = stream.next(buffer)) > 0) {
            out.write(buffer, 0, n);
        }
        out.flush();
    }

    public static Received receive(InputStream in) throws IOException {
        MessageDigest digest = RandomStream.newDigest();
        byte[] buffer = new byte[128 * 1024];
        long total = 0;
        int n;
        while ((n = in.read(buffer)) >= 0) {
            digest.update(buffer, 0, n);
            total += n;
        }
        return new Received(total, HexFormat.of().formatHex(digest.digest()));
    }
}
