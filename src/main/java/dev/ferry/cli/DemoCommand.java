package dev.ferry.cli;

import dev.ferry.Ferry;
import dev.ferry.config.ClusterConfig;
import dev.ferry.config.ConfigException;
import dev.ferry.config.ConfigLoader;
import dev.ferry.config.FerryConfig;
import dev.ferry.config.ListenerConfig;
import dev.ferry.demo.DemoBackends;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Starts small built-in backends on every cluster endpoint of the configuration, then Ferry, and prints what to try.")
final class DemoCommand implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, defaultValue = "config/ferry.yaml", paramLabel = "FILE",
            description = "The YAML configuration (default ${DEFAULT-VALUE}).")
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
        List<DemoBackends.Endpoint> endpoints = new ArrayList<>();
        for (ClusterConfig cluster : loaded.clusters()) {
            // A DNS-named endpoint is served on the addresses the name has now.
            for (var endpoint : cluster.endpoints()) {
                InetSocketAddress address = endpoint.address();
                for (var resolved : endpoint.isDnsName()
                        ? List.of(java.net.InetAddress.getAllByName(address.getHostString()))
                        : List.of(address.getAddress())) {
                    endpoints.add(new DemoBackends.Endpoint(cluster.name(), new InetSocketAddress(resolved, address.getPort())));
                }
            }
        }
        Path workDir = Files.createTempDirectory("ferry-demo-");
        DemoBackends backends = DemoBackends.start(endpoints, workDir);
        Ferry ferry;
        try {
            ferry = Ferry.start(loaded);
        } catch (Exception e) {
            backends.close();
            throw e;
        }
        printWhatToTry(loaded, ferry, backends.certificate());
        UntilStopped.await(() -> {
            try (backends) {
                ferry.close();
            }
        });
        return 0;
    }

    private static void printWhatToTry(FerryConfig config, Ferry ferry, Path certificate) {
        System.out.println();
        System.out.println("Ferry is running with " + config.listeners().size() + " listener(s); demo backends answer on every cluster endpoint.");
        System.out.println("Try, from another terminal:");
        for (ListenerConfig listener : config.listeners()) {
            InetSocketAddress address = ferry.listenerAddress(listener.name());
            String hostPort = address.getHostString() + ":" + address.getPort();
            int port = address.getPort();
            System.out.printf("  curl --cacert %s --resolve a.eu.example.com:%d:%s https://a.eu.example.com:%d/   # routed by SNI%n",
                    certificate, port, address.getHostString(), port);
            System.out.printf("  curl -H 'Host: api.example.com' http://%s/   # routed by Host%n", hostPort);
            System.out.printf("  printf 'PING\\n' | socat - TCP:%s   # rejected by prefix%n", hostPort);
            System.out.printf("  openssl s_client -connect %s -servername b.eu.example.com -quiet   # then type: GET / HTTP/1.0, Enter twice%n", hostPort);
        }
        ferry.adminAddress().ifPresent(admin ->
                System.out.printf("  curl http://%s:%d/stats   # counters%n", admin.getHostString(), admin.getPort()));
        System.out.println("Stop with Ctrl-C.");
    }
}
