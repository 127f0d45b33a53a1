package dev.ferry.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The {@code ferry} command line run as its own process, from the test classpath, so that its CPU
 * time and descriptors are its own.
 */
public final class FerryProcess implements AutoCloseable {
    private final Process process;
    private final Path log;

    private FerryProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    public static FerryProcess start(Path workDir, String... arguments) throws IOException {
        return start(workDir, List.of(), System.getProperty("java.class.path"), null, arguments);
    }

    /**
     * Runs {@code prefix} (e.g. {@code setpriv --reuid=nobody ...}) followed by the java command, with
     * {@code classpath}, in {@code directory} (null: the current one); the log stays in {@code workDir}.
     */
    public static FerryProcess start(Path workDir, List<String> prefix, String classpath, Path directory,
                                     String... arguments) throws IOException {
        List<String> command = new ArrayList<>(prefix);
        command.addAll(javaCommand(classpath));
        command.addAll(List.of(arguments));
        Path log = Files.createTempFile(workDir, "ferry-", ".log");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        if (directory != null) {
            builder.directory(directory.toFile());
            builder.environment().put("HOME", directory.toString());
        }
        return new FerryProcess(builder.start(), log);
    }

    /** The java command line that runs {@code ferry}, without its arguments. */
    public static List<String> javaCommand(String classpath) {
        return List.of(ProcessHandle.current().info().command().orElseThrow(), "--enable-native-access=ALL-UNNAMED",
                "-cp", classpath, "dev.ferry.cli.FerryCommand");
    }

    /** Waits for the process to exit; returns its exit code, failing after {@code seconds}. */
    public int awaitExit(long seconds) throws Exception {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            throw new AssertionError("ferry did not exit within " + seconds + " s:\n" + output());
        }
        return process.exitValue();
    }

    public static int freePort() throws IOException {
        try (ServerSocket probe = new ServerSocket(0)) {
            return probe.getLocalPort();
        }
    }

    /** Waits until the process accepts connections on {@code port}. */
    public void awaitListening(int port, long seconds) throws Exception {
        awaitListening(process, port, seconds, this::output);
    }

    /**
     * Waits until {@code process}, a Ferry started some other way, accepts connections on {@code port};
     * {@code output} tells what it printed, for the failure. A probe sends nothing.
     */
    public static void awaitListening(Process process, int port, long seconds, OutputSoFar output) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("ferry exited with " + process.exitValue() + ":\n" + output.get());
            }
            try (Socket probe = new Socket()) {
                probe.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        throw new AssertionError("ferry did not listen on " + port + " within " + seconds + " s:\n" + output.get());
    }

    /** What a process printed so far, as far as the caller can tell. */
    @FunctionalInterface
    public interface OutputSoFar {
        String get() throws IOException;
    }

    public long pid() {
        return process.pid();
    }

    /** User plus system CPU time of every thread of the process, in milliseconds. */
    public long cpuMillis() throws IOException {
        return cpuMillisOf(Files.readString(Path.of("/proc/" + process.pid() + "/stat")));
    }

    /** utime plus stime of a /proc stat line, whose name field may hold spaces and parentheses. */
    private static long cpuMillisOf(String stat) {
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        return ticks * 1000 / 100;  // USER_HZ is 100 on Linux
    }

    /**
     * User plus system CPU time of each live thread, in milliseconds, keyed by "name/tid", so that a
     * CPU budget that fails can say whether Ferry's own threads, the JIT or the collector spent it.
     */
    public Map<String, Long> cpuMillisByThread() throws IOException {
        Map<String, Long> byThread = new TreeMap<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/" + process.pid() + "/task"))) {
            for (Path task : tasks) {
                String stat;
                try {
                    stat = Files.readString(task.resolve("stat"));
                } catch (NoSuchFileException exited) {
                    continue;
                }
                String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                byThread.put(name + "/" + task.getFileName(), cpuMillisOf(stat));
            }
        }
        return byThread;
    }

    /** The threads that spent CPU between two {@link #cpuMillisByThread} samples, largest first. */
    public static String cpuSpentBetween(Map<String, Long> before, Map<String, Long> after) {
        StringBuilder spent = new StringBuilder();
        after.entrySet().stream()
                .map(e -> Map.entry(e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0L)))
                .filter(e -> e.getValue() > 0)
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .forEach(e -> spent.append(spent.isEmpty() ? "" : ", ").append(e.getKey()).append(' ')
                        .append(e.getValue()).append(" ms"));
        return spent.isEmpty() ? "no thread" : spent.toString();
    }

    public String output() throws IOException {
        return Files.readString(log);
    }

    @Override
    public void close() throws Exception {
        System.out.println("---- output of ferry (pid " + process.pid() + ") ----\n" + output());
        process.destroy();
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
