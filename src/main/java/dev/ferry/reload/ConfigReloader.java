package dev.ferry.reload;

import dev.ferry.config.ConfigException;
import dev.ferry.config.ConfigLoader;
import dev.ferry.config.FerryConfig;
import dev.ferry.stats.Stats;
import dev.ferry.sys.Signals;
import java.io.IOException;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads the configuration on SIGHUP and when the file changes. A file that does not load is refused with its
 * {@code file:line:column: field: problem} logged, and the running configuration stays; so does a file that
 * loads but cannot be applied (an address already in use).
 *
 * <p>The file is watched through its directory, so that editors that write a new file and rename it over the
 * old one, and symlink swaps as Kubernetes does for ConfigMaps, are seen too; a change is applied only when
 * the content differs from what was last tried, and after a short quiet period so a file is not read half
 * written. The content is also compared every second, in case change events are not delivered.
 */
public final class ConfigReloader implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ConfigReloader.class);
    private static final long QUIET_MILLIS = 200;
    private static final long POLL_MILLIS = 1000;

    /** What applies a loaded configuration; throws when it cannot, leaving the running one. */
    @FunctionalInterface
    public interface Target {
        void reload(FerryConfig config) throws Exception;
    }

    private final Path file;
    private final Target target;
    private final Stats stats;
    private final Object lock = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final WatchService watcher;
    private final Thread watchThread;
    private byte[] lastTried;

    private ConfigReloader(Path file, Target target, Stats stats, WatchService watcher) throws IOException {
        this.file = file.toAbsolutePath();
        this.target = target;
        this.stats = stats;
        this.watcher = watcher;
        this.lastTried = digest(Files.readAllBytes(this.file));
        this.watchThread = Thread.ofPlatform().daemon().name("ferry-config-watch").unstarted(this::watch);
    }

    /**
     * Starts watching {@code file} (already loaded and running) and handling SIGHUP.
     *
     * @param handleSignal whether to take over SIGHUP (the JVM's default would exit)
     */
    public static ConfigReloader start(Path file, Target target, Stats stats, boolean handleSignal) throws IOException {
        WatchService watcher = FileSystems.getDefault().newWatchService();
        Path directory = file.toAbsolutePath().getParent();
        directory.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
                StandardWatchEventKinds.ENTRY_DELETE);
        ConfigReloader reloader = new ConfigReloader(file, target, stats, watcher);
        reloader.watchThread.start();
        if (handleSignal) {
            reloader.handleSighup();
        }
        return reloader;
    }

    /** Loads the file and applies it, whether it changed or not; returns whether the new file runs now. */
    public boolean reloadNow(String trigger) {
        synchronized (lock) {
            byte[] content;
            try {
                content = Files.readAllBytes(file);
            } catch (IOException e) {
                return refused(trigger, "cannot read " + file + ": " + e);
            }
            lastTried = digest(content);
            FerryConfig config;
            try {
                config = ConfigLoader.load(file);
            } catch (ConfigException invalid) {
                return refused(trigger, invalid.getMessage());
            }
            try {
                target.reload(config);
            } catch (Exception | Error failed) {
                return refused(trigger, "cannot apply " + file + ": " + failed);
            }
            stats.increment("ferry_config_reloads_total{result=\"ok\"}");
            LOG.info("reload ({}): {} applied: {} listener(s), {} cluster(s); established connections untouched",
                    trigger, file, config.listeners().size(), config.clusters().size());
            return true;
        }
    }

    private boolean refused(String trigger, String why) {
        stats.increment("ferry_config_reloads_total{result=\"error\"}");
        LOG.error("reload ({}) refused, the running configuration stays: {}", trigger, why);
        return false;
    }

    private void reloadIfChanged(String trigger) {
        synchronized (lock) {
            byte[] content;
            try {
                content = Files.readAllBytes(file);
            } catch (IOException missingForNow) {
                return; // a rename in progress, or gone: the next event or poll tells
            }
            if (content.length == 0) {
                return; // truncated by a writer that has not written yet: the next event or poll tells
            }
            if (Arrays.equals(digest(content), lastTried)) {
                return;
            }
        }
        reloadNow(trigger);
    }

    private void watch() {
        while (!closed.get()) {
            try {
                WatchKey key = watcher.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
                if (key != null) {
                    boolean relevant = !key.pollEvents().isEmpty();
                    key.reset();
                    if (relevant) {
                        // Let a burst of writes settle before reading.
                        Thread.sleep(QUIET_MILLIS);
                        drain();
                        reloadIfChanged("file changed");
                        continue;
                    }
                }
                reloadIfChanged("file changed (poll)");
            } catch (InterruptedException | ClosedWatchServiceException stopped) {
                return;
            } catch (RuntimeException unexpected) {
                LOG.error("config watch: {}", unexpected.toString());
            }
        }
    }

    private void drain() {
        WatchKey key;
        while ((key = watcher.poll()) != null) {
            key.pollEvents();
            key.reset();
        }
    }

    /**
     * SIGHUP through {@code sun.misc.Signal} (module jdk.unsupported, exported to every module), found
     * reflectively so that the build needs no internal API; without it, file changes still reload.
     */
    private void handleSighup() {
        if (Signals.stopIgnoring(Signals.SIGHUP)) {
            LOG.info("SIGHUP was ignored in this process (started under nohup?); it reloads the configuration now");
        }
        try {
            Class<?> signalClass = Class.forName("sun.misc.Signal");
            Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
            Object hup = signalClass.getConstructor(String.class).newInstance("HUP");
            InvocationHandler onSignal = (Object proxy, Method method, Object[] args) -> {
                if (method.getName().equals("handle")) {
                    // Not on the signal thread: loading and binding may take a while.
                    Thread.ofPlatform().daemon().name("ferry-reload").start(() -> reloadNow("SIGHUP"));
                    return null;
                }
                return switch (method.getName()) {
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> "ferry SIGHUP handler";
                };
            };
            Object handler = Proxy.newProxyInstance(handlerClass.getClassLoader(), new Class<?>[] {handlerClass}, onSignal);
            signalClass.getMethod("handle", signalClass, handlerClass).invoke(null, hup, handler);
            LOG.info("reload on SIGHUP or when {} changes", file);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError unavailable) {
            LOG.warn("SIGHUP reload unavailable ({}); {} is still watched for changes", unavailable, file);
        }
    }

    private static byte[] digest(byte[] content) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(content);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                watcher.close();
            } catch (IOException ignored) {
                // closing anyway
            }
            watchThread.interrupt();
        }
    }
}
