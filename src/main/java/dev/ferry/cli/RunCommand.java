package dev.ferry.cli;

import dev.ferry.Ferry;
import dev.ferry.config.ConfigException;
import dev.ferry.config.ConfigLoader;
import dev.ferry.config.FerryConfig;
import dev.ferry.dataplane.DataPlanes;
import dev.ferry.reload.ConfigReloader;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Runs Ferry with a configuration file until SIGINT or SIGTERM; reloads it on SIGHUP and when it changes.")
final class RunCommand implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "The YAML configuration.")
    Path config;

    @Override
    public Integer call() throws Exception {
        // Endpoint DNS names are re-resolved every dns_refresh: the JVM's own cache must not outlast that.
        java.security.Security.setProperty("networkaddress.cache.ttl", "1");
        FerryConfig loaded;
        try {
            loaded = ConfigLoader.load(config);
        } catch (ConfigException e) {
            System.err.println("ferry: invalid configuration: " + e.getMessage());
            return 2;
        }
        Ferry ferry;
        try {
            ferry = Ferry.start(loaded);
        } catch (DataPlanes.UnavailableException e) {
            System.err.println("ferry: " + e.getMessage());
            return 1;
        }
        // Reload on SIGHUP and when the file changes; a bad file is logged and the running configuration stays.
        ConfigReloader reloader = ConfigReloader.start(config, ferry::reload, ferry.stats(), true);
        UntilStopped.await(() -> {
            try (ferry) {
                reloader.close();
            }
        });
        return 0;
    }
}
