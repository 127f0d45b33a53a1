package dev.ferry.demo;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Small TCP servers standing in for real backends in Ferry's demo and tests. Each answer names
 * the cluster and endpoint that received the connection and what the client revealed in its
 * first bytes (TLS SNI or HTTP Host), so one can see at a glance where Ferry routed it.
 */
public final class DemoBackends implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DemoBackends.class);

    /** One backend server to start: the cluster it claims to belong to and where it listens. */
    public record Endpoint(String clusterName, InetSocketAddress address) {
        public Endpoint {
            Objects.requireNonNull(clusterName, "clusterName");
            Objects.requireNonNull(address, "address");
        }
    }

    private final List<Listener> listeners;
    private final Path certificate;

    private DemoBackends(List<Listener> listeners, Path certificate) {
        this.listeners = listeners;
        this.certificate = certificate;
    }

    /**
     * Starts one server per endpoint. The self-signed certificate is generated into
     * {@code workDir} on first use and reused afterwards, so a newcomer trusts it only once.
     */
    public static DemoBackends start(List<Endpoint> endpoints, Path workDir) throws IOException {
        Objects.requireNonNull(endpoints, "endpoints");
        Objects.requireNonNull(workDir, "workDir");
        SelfSignedCertificate certificate = SelfSignedCertificate.loadOrCreate(workDir);
        SSLSocketFactory tls = certificate.serverContext().getSocketFactory();
        List<Listener> started = new ArrayList<>();
        try {
            for (Endpoint endpoint : endpoints) {
                Listener listener = Listener.start(endpoint, tls);
                started.add(listener);
                log.info("demo backend of cluster {} listening on {}", endpoint.clusterName(),
                        hostAndPort(listener.address()));
            }
        } catch (IOException | RuntimeException e) {
            started.forEach(Listener::close);
            throw e;
        }
        return new DemoBackends(List.copyOf(started), certificate.pem());
    }

    /** The addresses actually bound, in endpoint order (differs from the request for port 0). */
    public List<InetSocketAddress> boundAddresses() {
        return listeners.stream().map(Listener::address).toList();
    }

    /** The PEM certificate the TLS endpoints present, e.g. for {@code curl --cacert}. */
    public Path certificate() {
        return certificate;
    }

    /** Connections accepted and not yet ended, over every endpoint. */
    public int openConnections() {
        return listeners.stream().mapToInt(listener -> listener.openConnections.size()).sum();
    }

    /**
     * Stops every server, closes their open connections and waits for their threads. A connection
     * still in a listening socket's queue, not yet accepted, is reset by the kernel as the socket
     * closes.
     */
    @Override
    public void close() {
        listeners.forEach(Listener::close);
    }

    static String hostAndPort(InetSocketAddress address) {
        String host = address.getAddress().getHostAddress();
        return (address.getAddress() instanceof Inet6Address ? "[" + host + "]" : host) + ":" + address.getPort();
    }

    /** One listening socket, its accepting thread and a virtual thread per open connection. */
    private static final class Listener implements AutoCloseable {
        private final String clusterName;
        private final ServerSocket serverSocket;
        private final SSLSocketFactory tls;
        private final Set<Socket> openConnections = ConcurrentHashMap.newKeySet();
        private final ExecutorService connectionThreads;
        private final Thread acceptor;

        private Listener(String clusterName, ServerSocket serverSocket, SSLSocketFactory tls) {
            this.clusterName = clusterName;
            this.serverSocket = serverSocket;
            this.tls = tls;
            this.connectionThreads = Executors.newThreadPerTaskExecutor(
                    Thread.ofVirtual().name("demo-" + clusterName + "-connection-", 0).factory());
            this.acceptor = Thread.ofVirtual().name("demo-" + clusterName + "-acceptor").start(this::acceptConnections);
        }

        static Listener start(Endpoint endpoint, SSLSocketFactory tls) throws IOException {
            ServerSocket serverSocket = new ServerSocket();
            try {
                serverSocket.bind(endpoint.address());
            } catch (IOException e) {
                serverSocket.close();
                throw new IOException("demo backend of cluster " + endpoint.clusterName()
                        + " cannot listen on " + endpoint.address() + ": " + e.getMessage(), e);
            }
            return new Listener(endpoint.clusterName(), serverSocket, tls);
        }

        InetSocketAddress address() {
            return (InetSocketAddress) serverSocket.getLocalSocketAddress();
        }

        private void acceptConnections() {
            while (true) {
                Socket socket;
                try {
                    socket = serverSocket.accept();
                } catch (IOException e) {
                    if (!serverSocket.isClosed()) {
                        log.warn("demo backend of cluster {} stopped accepting", clusterName, e);
                    }
                    return;
                }
                // Registered before its thread starts, so close() can always reach it.
                openConnections.add(socket);
                connectionThreads.execute(() -> serve(socket));
            }
        }

        private void serve(Socket socket) {
            try (socket) {
                new Connection(clusterName, tls).serve(socket);
            } catch (IOException e) {
                log.debug("demo backend of cluster {}: connection ended: {}", clusterName, e.toString());
            } finally {
                openConnections.remove(socket);
            }
        }

        @Override
        public void close() {
            closeQuietly(serverSocket);
            // Only after the acceptor is gone is openConnections complete and no task can be added.
            joinUninterruptibly(acceptor);
            openConnections.forEach(Listener::closeQuietly);
            connectionThreads.close();
        }

        private static void joinUninterruptibly(Thread thread) {
            boolean interrupted = false;
            while (true) {
                try {
                    thread.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }

        private static void closeQuietly(AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception e) {
                log.debug("ignoring failure to close {}: {}", closeable, e.toString());
            }
        }
    }

    /** Tells TLS from cleartext by the first byte, then lets {@link Reply} answer the client. */
    private record Connection(String clusterName, SSLSocketFactory tls) {
        private static final byte TLS_HANDSHAKE_RECORD = 0x16;

        void serve(Socket socket) throws IOException {
            byte[] first = readChunk(socket.getInputStream());
            if (first == null) {
                return;
            }
            // The local address says which endpoint was reached even when bound to a wildcard.
            String greeting = "hello from cluster " + clusterName + " (endpoint "
                    + hostAndPort((InetSocketAddress) socket.getLocalSocketAddress()) + ")";
            if (first[0] != TLS_HANDSHAKE_RECORD) {
                new Reply(greeting, null).answer(first, socket.getInputStream(), socket.getOutputStream());
                return;
            }
            // The bytes already read are handed back so the TLS engine sees the whole ClientHello.
            try (SSLSocket tlsSocket = (SSLSocket) tls.createSocket(socket, new ByteArrayInputStream(first), true)) {
                tlsSocket.startHandshake();
                byte[] request = readChunk(tlsSocket.getInputStream());
                if (request != null) {
                    new Reply(greeting, requestedServerName(tlsSocket))
                            .answer(request, tlsSocket.getInputStream(), tlsSocket.getOutputStream());
                }
            }
        }

        private static String requestedServerName(SSLSocket socket) {
            if (!(socket.getSession() instanceof ExtendedSSLSession session)) {
                return "(none)";
            }
            return session.getRequestedServerNames().stream()
                    .filter(SNIHostName.class::isInstance)
                    .map(name -> ((SNIHostName) name).getAsciiName())
                    .findFirst()
                    .orElse("(none)");
        }
    }

    /**
     * Answers an HTTP/1.x request with a one-line body, or greets anything else and echoes it
     * until EOF so that nc and socat sessions show something useful too.
     *
     * @param tlsServerName the SNI the client sent, or null over cleartext
     */
    private record Reply(String greeting, String tlsServerName) {
        private static final Pattern HTTP_REQUEST_START =
                Pattern.compile("(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH|CONNECT|TRACE) .*", Pattern.DOTALL);
        private static final int MAX_HEAD_BYTES = 64 * 1024;

        void answer(byte[] first, InputStream in, OutputStream out) throws IOException {
            if (HTTP_REQUEST_START.matcher(new String(first, StandardCharsets.ISO_8859_1)).matches()) {
                answerHttp(readHead(first, in), out);
            } else {
                greetAndEcho(first, in, out);
            }
        }

        private void answerHttp(String head, OutputStream out) throws IOException {
            String[] lines = head.split("\r?\n");
            String method = lines[0].substring(0, lines[0].indexOf(' '));
            String seen = tlsServerName != null ? "over TLS, SNI " + tlsServerName : "over cleartext, Host " + host(lines);
            byte[] body = (greeting + " " + seen + "\n").getBytes(StandardCharsets.UTF_8);
            String responseHead = "HTTP/1.1 200 OK\r\n"
                    + "Content-Type: text/plain; charset=utf-8\r\n"
                    + "Content-Length: " + body.length + "\r\n"
                    + "Connection: close\r\n\r\n";
            out.write(responseHead.getBytes(StandardCharsets.ISO_8859_1));
            if (!method.equals("HEAD")) {
                out.write(body);
            }
            out.flush();
        }

        private void greetAndEcho(byte[] first, InputStream in, OutputStream out) throws IOException {
            String over = tlsServerName != null ? " over TLS, SNI " + tlsServerName : "";
            out.write((greeting + over + ": got " + first.length + " bytes\n").getBytes(StandardCharsets.UTF_8));
            out.write(first);
            out.flush();
            in.transferTo(out);
        }

        /** Reads until the blank line ending the head, EOF or a size cap; a body is ignored. */
        private static String readHead(byte[] first, InputStream in) throws IOException {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            head.write(first);
            byte[] chunk = first;
            while (chunk != null && !endsHead(head) && head.size() < MAX_HEAD_BYTES) {
                chunk = readChunk(in);
                if (chunk != null) {
                    head.write(chunk);
                }
            }
            return head.toString(StandardCharsets.ISO_8859_1);
        }

        private static boolean endsHead(ByteArrayOutputStream head) {
            String text = head.toString(StandardCharsets.ISO_8859_1);
            return text.contains("\r\n\r\n") || text.contains("\n\n");
        }

        private static String host(String[] lines) {
            return Arrays.stream(lines)
                    .skip(1)
                    .filter(line -> line.toLowerCase(Locale.ROOT).startsWith("host:"))
                    .map(line -> line.substring("host:".length()).trim())
                    .findFirst()
                    .orElse("(none)");
        }
    }

    /** Whatever one read returns, or null at EOF. */
    private static byte[] readChunk(InputStream in) throws IOException {
        byte[] buffer = new byte[16 * 1024];
        int length = in.read(buffer);
        return length < 0 ? null : Arrays.copyOf(buffer, length);
    }

    /**
     * A throwaway self-signed certificate, made with the running JDK's keytool so that the
     * demo needs no crypto library and the key never leaves the work directory.
     */
    private record SelfSignedCertificate(Path keyStore, Path pem) {
        // The key is a demo key known to be untrusted, so a well-known password costs nothing.
        private static final String PASSWORD = "changeit";
        private static final String ALIAS = "demo";
        private static final long KEYTOOL_TIMEOUT_SECONDS = 60;

        static SelfSignedCertificate loadOrCreate(Path workDir) throws IOException {
            Path dir = workDir.resolve("demo-tls");
            if (!Files.isDirectory(dir)) {
                createAtomically(Files.createDirectories(workDir), dir);
            }
            return new SelfSignedCertificate(dir.resolve("demo.p12"), dir.resolve("demo.pem"));
        }

        /**
         * Generates into a staging directory renamed into place in one step, so a run killed
         * half-way or a concurrent start never leaves a key store without its matching PEM.
         */
        private static void createAtomically(Path workDir, Path dir) throws IOException {
            Path staging = Files.createTempDirectory(workDir, "demo-tls-");
            try {
                Path keyStore = staging.resolve("demo.p12");
                keytool(staging, "-genkeypair", "-alias", ALIAS, "-keyalg", "EC", "-groupname", "secp256r1",
                        "-dname", "CN=*.example.com", "-validity", "3650",
                        "-ext", "SAN=dns:*.example.com,dns:*.eu.example.com,dns:localhost,ip:127.0.0.1",
                        "-keystore", keyStore.toString(), "-storetype", "PKCS12",
                        "-storepass", PASSWORD, "-keypass", PASSWORD);
                keytool(staging, "-exportcert", "-rfc", "-alias", ALIAS, "-keystore", keyStore.toString(),
                        "-storepass", PASSWORD, "-file", staging.resolve("demo.pem").toString());
                try {
                    Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
                } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
                    log.debug("a concurrent start created {} first; using that one", dir);
                }
            } finally {
                deleteIfPresent(staging);
            }
        }

        private static void keytool(Path staging, String... arguments) throws IOException {
            List<String> command = new ArrayList<>(List.of(keytoolPath().toString()));
            command.addAll(List.of(arguments));
            Path output = staging.resolve("keytool.log");
            Process process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(output.toFile())
                    .start();
            try {
                if (!process.waitFor(KEYTOOL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    throw new IOException("keytool " + arguments[0] + " did not finish in "
                            + KEYTOOL_TIMEOUT_SECONDS + " s");
                }
                if (process.exitValue() != 0) {
                    throw new IOException("keytool " + arguments[0] + " failed: " + Files.readString(output).strip());
                }
                Files.delete(output);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while running keytool");
            } finally {
                process.destroyForcibly(); // no-op once it has exited; ends it after a timeout or interrupt
            }
        }

        /** The keytool of the running JDK, whose version is known to understand our options. */
        private static Path keytoolPath() {
            Path java = ProcessHandle.current().info().command()
                    .map(Path::of)
                    .orElseGet(() -> Path.of(System.getProperty("java.home"), "bin", "java"));
            return java.resolveSibling("keytool");
        }

        private static void deleteIfPresent(Path directory) throws IOException {
            if (!Files.exists(directory)) {
                return;
            }
            try (Stream<Path> files = Files.list(directory)) {
                for (Path file : files.toList()) {
                    Files.delete(file);
                }
            }
            Files.delete(directory);
        }

        SSLContext serverContext() throws IOException {
            try (InputStream in = Files.newInputStream(keyStore)) {
                KeyStore store = KeyStore.getInstance("PKCS12");
                store.load(in, PASSWORD.toCharArray());
                KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                keyManagers.init(store, PASSWORD.toCharArray());
                SSLContext context = SSLContext.getInstance("TLS");
                context.init(keyManagers.getKeyManagers(), null, null);
                return context;
            } catch (GeneralSecurityException e) {
                throw new IOException("cannot load the demo key store " + keyStore, e);
            }
        }
    }
}
