import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * The benchmark's own load tools, one small NIO program so that every target sees the same client:
 *
 * <pre>
 * responder HOST:PORT...                  a tiny TLS-ish backend: reads one whole TLS record (the
 *                                         ClientHello), answers 32 bytes and closes first
 * connrate TARGET HELLO SECONDS CONC SRC..  new connections per second against TARGET, CONC at a time,
 *                                         each sending the ClientHello in file HELLO and reading the
 *                                         answer to EOF; prints one JSON line: rate, and percentiles
 *                                         of connect-to-first-byte and connect-to-EOF
 * holdserver HOST:PORT...                 accepts and keeps connections; answers "k" to the first bytes
 * hold COUNT INFLIGHT TARGETS SRC...      opens COUNT idle connections (spread over the comma-separated
 *                                         TARGETS and the source addresses SRC), each proven end to end
 *                                         by the "k" answer; prints "ready", waits for a line on stdin,
 *                                         then resets them all and prints "closed"
 * </pre>
 *
 * Loops are bounded: connrate by its duration, hold by its count, a 120 s deadline and 10 s
 * without progress.
 */
public final class Load {
    private static final byte[] ANSWER = "ferry-bench: hello, tls client\n".getBytes(StandardCharsets.US_ASCII);

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            usage();
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "responder" -> serve(rest, false);
            case "holdserver" -> serve(rest, true);
            case "connrate" -> connrate(rest);
            case "hold" -> hold(rest);
            default -> usage();
        }
    }

    private static void usage() {
        System.err.println("usage: Load responder|holdserver HOST:PORT... | connrate TARGET HELLO SECONDS CONC SRC... "
                + "| hold COUNT INFLIGHT TARGETS SRC...");
        System.exit(2);
    }

    static InetSocketAddress address(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    // ---------------------------------------------------------------- servers

    /** Per-connection state of a server: bytes seen so far of the first TLS record. */
    private static final class Conn {
        final ByteBuffer in = ByteBuffer.allocate(16 * 1024 + 5);
        ByteBuffer out;
        boolean answered;
    }

    private static void serve(String[] listen, boolean hold) throws IOException {
        Selector selector = Selector.open();
        for (String hostPort : listen) {
            ServerSocketChannel server = ServerSocketChannel.open();
            server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            server.bind(address(hostPort), 65535);
            server.configureBlocking(false);
            server.register(selector, SelectionKey.OP_ACCEPT);
        }
        System.out.println("listening");
        System.out.flush();
        ByteBuffer scratch = ByteBuffer.allocate(64 * 1024);
        while (true) {
            selector.select();
            Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
            while (keys.hasNext()) {
                SelectionKey key = keys.next();
                keys.remove();
                try {
                    if (key.isAcceptable()) {
                        SocketChannel channel;
                        while ((channel = ((ServerSocketChannel) key.channel()).accept()) != null) {
                            channel.configureBlocking(false);
                            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                            channel.register(selector, SelectionKey.OP_READ, hold ? null : new Conn());
                        }
                    } else if (hold) {
                        holdRead(key, scratch);
                    } else {
                        respond(key);
                    }
                } catch (IOException e) {
                    closeQuietly(key);
                }
            }
        }
    }

    /** Hold server: the first bytes get one "k" back; later bytes are dropped; EOF closes. */
    private static void holdRead(SelectionKey key, ByteBuffer scratch) throws IOException {
        SocketChannel channel = (SocketChannel) key.channel();
        scratch.clear();
        int n = channel.read(scratch);
        if (n < 0) {
            closeQuietly(key);
        } else if (n > 0 && key.attachment() == null) {
            key.attach(Boolean.TRUE);
            channel.write(ByteBuffer.wrap(new byte[] {'k'}));
        }
    }

    /** Responder: once a whole TLS record is in, answer and close (the backend closes first). */
    private static void respond(SelectionKey key) throws IOException {
        SocketChannel channel = (SocketChannel) key.channel();
        Conn conn = (Conn) key.attachment();
        if (!conn.answered) {
            int n = channel.read(conn.in);
            if (n < 0) {
                closeQuietly(key);
                return;
            }
            if (conn.in.position() >= 5) {
                int length = ((conn.in.get(3) & 0xff) << 8) | (conn.in.get(4) & 0xff);
                if (conn.in.position() >= 5 + length || !conn.in.hasRemaining()) {
                    conn.answered = true;
                    conn.out = ByteBuffer.wrap(ANSWER);
                }
            }
        }
        if (conn.answered) {
            channel.write(conn.out);
            if (conn.out.hasRemaining()) {
                key.interestOps(SelectionKey.OP_WRITE);
            } else {
                closeQuietly(key);
            }
        }
    }

    private static void closeQuietly(SelectionKey key) {
        key.cancel();
        try {
            key.channel().close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }

    // ---------------------------------------------------------------- connection rate

    /** One client connection of the rate test. */
    private static final class Attempt {
        final long startNanos = System.nanoTime();
        long firstByteNanos;
        final ByteBuffer out;
        int received;

        Attempt(byte[] hello) {
            out = ByteBuffer.wrap(hello);
        }
    }

    private static void connrate(String[] args) throws Exception {
        InetSocketAddress target = address(args[0]);
        byte[] hello = Files.readAllBytes(Path.of(args[1]));
        double seconds = Double.parseDouble(args[2]);
        int concurrency = Integer.parseInt(args[3]);
        List<InetSocketAddress> sources = new ArrayList<>();
        for (int i = 4; i < args.length; i++) {
            sources.add(new InetSocketAddress(args[i], 0));
        }
        Selector selector = Selector.open();
        long[] ttfb = new long[1 << 16];
        long[] lifetime = new long[1 << 16];
        int samples = 0;
        long completed = 0;
        long errors = 0;
        long started = 0;
        ByteBuffer scratch = ByteBuffer.allocate(4096);
        long begin = System.nanoTime();
        long end = begin + (long) (seconds * 1e9);
        int open = 0;
        while (true) {
            long now = System.nanoTime();
            while (now < end && open < concurrency) {
                SocketChannel channel = SocketChannel.open();
                channel.configureBlocking(false);
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                if (!sources.isEmpty()) {
                    channel.bind(sources.get((int) (started % sources.size())));
                }
                started++;
                Attempt attempt = new Attempt(hello);
                try {
                    boolean connected = channel.connect(target);
                    channel.register(selector, connected ? SelectionKey.OP_WRITE : SelectionKey.OP_CONNECT, attempt);
                    open++;
                } catch (IOException e) {
                    errors++;
                    channel.close();
                }
            }
            if (open == 0 && now >= end) {
                break;
            }
            if (now > end + 5_000_000_000L) { // stragglers after 5 s count as errors
                errors += open;
                break;
            }
            selector.select(100);
            Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
            while (keys.hasNext()) {
                SelectionKey key = keys.next();
                keys.remove();
                SocketChannel channel = (SocketChannel) key.channel();
                Attempt attempt = (Attempt) key.attachment();
                try {
                    if (key.isConnectable()) {
                        channel.finishConnect();
                        key.interestOps(SelectionKey.OP_WRITE);
                    }
                    if (key.isValid() && key.isWritable()) {
                        channel.write(attempt.out);
                        if (!attempt.out.hasRemaining()) {
                            key.interestOps(SelectionKey.OP_READ);
                        }
                    } else if (key.isValid() && key.isReadable()) {
                        scratch.clear();
                        int n = channel.read(scratch);
                        if (n > 0 && attempt.received == 0) {
                            attempt.firstByteNanos = System.nanoTime();
                        }
                        if (n > 0) {
                            attempt.received += n;
                        } else if (n < 0) {
                            key.cancel();
                            channel.close();
                            open--;
                            if (attempt.received == ANSWER.length) {
                                completed++;
                                if (samples == ttfb.length) {
                                    ttfb = Arrays.copyOf(ttfb, samples * 2);
                                    lifetime = Arrays.copyOf(lifetime, samples * 2);
                                }
                                lifetime[samples] = System.nanoTime() - attempt.startNanos;
                                ttfb[samples++] = attempt.firstByteNanos - attempt.startNanos;
                            } else {
                                errors++;
                            }
                        }
                    }
                } catch (IOException e) {
                    key.cancel();
                    channel.close();
                    open--;
                    errors++;
                }
            }
        }
        double elapsed = (System.nanoTime() - begin) / 1e9;
        long[] sorted = Arrays.copyOf(ttfb, samples);
        Arrays.sort(sorted);
        long[] closed = Arrays.copyOf(lifetime, samples);
        Arrays.sort(closed);
        System.out.printf("{\"completed\": %d, \"errors\": %d, \"seconds\": %.3f, \"rate\": %.1f, "
                        + "\"ttfb_us\": {\"p50\": %.1f, \"p99\": %.1f, \"p99.9\": %.1f}, "
                        + "\"close_us\": {\"p50\": %.1f, \"p99\": %.1f}}%n",
                completed, errors, elapsed, completed / elapsed,
                percentile(sorted, 50), percentile(sorted, 99), percentile(sorted, 99.9),
                percentile(closed, 50), percentile(closed, 99));
    }

    static double percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return -1;
        }
        int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))] / 1000.0;
    }

    // ---------------------------------------------------------------- idle connections

    private static void hold(String[] args) throws Exception {
        int count = Integer.parseInt(args[0]);
        int inflight = Integer.parseInt(args[1]);
        List<InetSocketAddress> targets = new ArrayList<>();
        for (String hostPort : args[2].split(",")) {
            targets.add(address(hostPort));
        }
        List<String> sources = Arrays.asList(args).subList(3, args.length);
        Selector selector = Selector.open();
        List<SocketChannel> established = new ArrayList<>(count);
        ByteBuffer scratch = ByteBuffer.allocate(64);
        byte[] hello = "HOLD\n".getBytes(StandardCharsets.US_ASCII);
        int started = 0;
        int pending = 0;
        int failed = 0;
        long begin = System.nanoTime();
        long deadline = begin + 120_000_000_000L;
        long lastProgress = begin;
        int progress = 0;
        while (established.size() < count && System.nanoTime() < deadline) {
            if (established.size() + failed != progress) {
                progress = established.size() + failed;
                lastProgress = System.nanoTime();
            } else if (System.nanoTime() - lastProgress > 10_000_000_000L) {
                break; // nothing answered for 10 s: the target holds no more
            }
            while (started < count && pending < inflight) {
                SocketChannel channel = SocketChannel.open();
                channel.configureBlocking(false);
                if (!sources.isEmpty()) {
                    channel.bind(new InetSocketAddress(sources.get(started % sources.size()), 0));
                }
                InetSocketAddress target = targets.get(started % targets.size());
                started++;
                pending++;
                try {
                    channel.connect(target);
                    channel.register(selector, SelectionKey.OP_CONNECT, target);
                } catch (IOException e) {
                    pending--;
                    failed++;
                    channel.close();
                }
            }
            if (failed > count / 100 + 10) {
                break;
            }
            if (started == count && pending == 0) {
                break;
            }
            selector.select(100);
            Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
            while (keys.hasNext()) {
                SelectionKey key = keys.next();
                keys.remove();
                SocketChannel channel = (SocketChannel) key.channel();
                try {
                    if (key.isConnectable()) {
                        channel.finishConnect();
                        channel.write(ByteBuffer.wrap(hello));
                        key.interestOps(SelectionKey.OP_READ);
                    } else if (key.isReadable()) {
                        scratch.clear();
                        int n = channel.read(scratch);
                        if (n > 0) {
                            key.cancel();
                            established.add(channel);
                            pending--;
                        } else if (n < 0) {
                            throw new IOException("closed before the answer");
                        }
                    }
                } catch (IOException e) {
                    key.cancel();
                    channel.close();
                    pending--;
                    failed++;
                }
            }
        }
        double elapsed = (System.nanoTime() - begin) / 1e9;
        System.out.printf("ready %d failed %d seconds %.2f%n", established.size(), failed, elapsed);
        System.out.flush();
        new BufferedReader(new InputStreamReader(System.in)).readLine();
        for (SocketChannel channel : established) {
            try {
                channel.setOption(StandardSocketOptions.SO_LINGER, 0); // reset: no TIME_WAIT left behind
                channel.close();
            } catch (IOException ignored) {
                // already gone
            }
        }
        System.out.println("closed");
    }
}
