package dev.ferry.cli;

import dev.ferry.dataplane.sockmap.SockmapSupport;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "check", mixinStandardHelpOptions = true,
        description = "Tells whether this host and process can run the sockmap data plane and, if not, exactly why. Exits 0 when it can, 1 when not.")
final class CheckCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        List<SockmapSupport.Check> checks = SockmapSupport.probe();
        for (SockmapSupport.Check check : checks) {
            System.out.printf("%-4s %-28s %s%n", check.ok() ? "ok" : "FAIL", check.name(), check.detail());
        }
        boolean usable = SockmapSupport.usable(checks);
        System.out.println(usable
                ? "sockmap data plane: available"
                : "sockmap data plane: NOT available (see FAIL lines above)");
        return usable ? 0 : 1;
    }
}
