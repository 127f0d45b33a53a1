package dev.ferry.cli;

import dev.ferry.Ferry;
import dev.ferry.config.ConfigException;
import dev.ferry.config.ConfigLoader;
import dev.ferry.config.FerryConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Runs Ferry with a configuration file until SIGINT or SIGTERM.")
final class RunCommand implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "The YAML configuration.")
    Path config;

    @Override
    public Integer call() throws Exception {
        FerryConfig loaded;
        try {
            loaded = ConfigLoader.load(config);
        } catch (ConfigException e) {
            System.err.println("ferry: invalid configuration: " + e.getMessage());
            return 2;
        }
        Ferry ferry = Ferry.start(loaded);
        UntilStopped.await(ferry);
        return 0;
    }
}
