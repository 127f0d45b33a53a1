package dev.ferry.cli;

import dev.ferry.dataplane.DataPlanes;
import dev.ferry.dataplane.sockmap.SockmapSupport;
import dev.ferry.dataplane.splice.SpliceSupport;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "check", mixinStandardHelpOptions = true,
        description = "Tells whether this host and process can run the sockmap data plane and, if not, exactly why, whether splice works, and which plane 'dataplane: auto' would choose. Exits 0 when sockmap is available, 1 when not.")
final class CheckCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        List<SockmapSupport.Check> checks = SockmapSupport.probe();
        for (SockmapSupport.Check check : checks) {
            System.out.printf("%-4s %-28s %s%n", check.ok() ? "ok" : "FAIL", check.name(), check.detail());
        }
        SpliceSupport.Result splice = SpliceSupport.probe();
        System.out.printf("%-4s %-28s %s%n", splice.ok() ? "ok" : "FAIL", "splice", splice.detail());
        boolean usable = SockmapSupport.usable(checks);
        System.out.println(usable
                ? "sockmap data plane: available"
                : "sockmap data plane: NOT available (see FAIL lines above)");
        DataPlanes.Choice auto = DataPlanes.chooseAuto(DataPlanes.sockmapAvailability(checks),
                new DataPlanes.Availability(splice.ok(), splice.detail()));
        System.out.println("dataplane auto would choose: " + auto.plane().yamlName() + " (" + auto.reason() + ")");
        return usable ? 0 : 1;
    }
}
