package dev.ferry.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;

/** Writes a seeded random stream as fast as the socket takes it, for a fixed time, hashing it. */
public final class TimedWriter {
    private final AtomicLong sent = new AtomicLong();

    public long sent() {
        return sent.get();
    }

    /** Writes for {@code millis}, then shuts the output down; returns what was sent. */
    public HashPeer.Received write(Socket socket, long seed, long millis) throws IOException {
        RandomStream stream = new RandomStream(seed, Long.MAX_VALUE);
        MessageDigest digest = RandomStream.newDigest();
        OutputStream out = socket.getOutputStream();
        byte[] buffer = new byte[16 * 1024];
        long deadline = System.nanoTime() + millis * 1_000_000;
        while (System.nanoTime() < deadline) {
            stream.next(buffer);
            out.write(buffer);
            digest.update(buffer);
            sent.addAndGet(buffer.length);
        }
        socket.shutdownOutput();
        return new HashPeer.Received(sent.get(), HexFormat.of().formatHex(digest.digest()));
    }
}
