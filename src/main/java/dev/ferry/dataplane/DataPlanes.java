package dev.ferry.dataplane;

import dev.ferry.bpf.BpfException;
import dev.ferry.config.DataPlaneConfig;
import dev.ferry.config.DataPlaneMode;
import dev.ferry.config.FerryConfig;
import dev.ferry.config.ListenerConfig;
import dev.ferry.dataplane.copy.CopyDataPlane;
import dev.ferry.dataplane.sockmap.SockmapKernel;
import dev.ferry.dataplane.sockmap.SockmapSupport;
import dev.ferry.dataplane.splice.SpliceDataPlane;
import dev.ferry.dataplane.splice.SpliceSupport;
import dev.ferry.handoff.DataPlane;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data planes of one Ferry process: which ones this host and process can run, what {@code auto}
 * chooses, and the plane of each listener. The sockmap plane's refused pairs go to splice when it
 * works here, else to copy.
 *
 * <p>Probing happens once, at start: sockmap counts as available when {@link SockmapSupport} proves
 * it (the program loads, attaches and redirects a loopback socket) and the real maps load; splice
 * when {@link SpliceSupport} moves a loopback socket's bytes through a pipe; copy always is.
 */
public final class DataPlanes implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DataPlanes.class);

    /** Whether a plane works in this process, and why (not). */
    public record Availability(boolean available, String reason) {}

    /** What {@code auto} resolves to, and why. */
    public record Choice(DataPlaneMode plane, String reason) {}

    /** Builds the sockmap plane once its kernel side is loaded. */
    @FunctionalInterface
    public interface SockmapPlaneFactory {
        DataPlane create(SockmapKernel kernel, DataPlane fallback);
    }

    /** A listener asked for a plane this process cannot run. */
    public static final class UnavailableException extends Exception {
        public UnavailableException(String message) {
            super(message, null, false, false);
        }
    }

    private final Optional<SockmapKernel> kernel;
    private final Optional<SpliceDataPlane> splice;
    private final Map<String, DataPlane> byListener;

    private DataPlanes(Optional<SockmapKernel> kernel, Optional<SpliceDataPlane> splice,
                       Map<String, DataPlane> byListener) {
        this.kernel = kernel;
        this.splice = splice;
        this.byListener = byListener;
    }

    /**
     * Probes what the listeners need, loads the sockmap program if one of them may use it, and logs
     * the choice of {@code auto} with its reason.
     *
     * @throws UnavailableException naming the listener and the reason when a listener forces a plane
     *                              that does not work here
     */
    public static DataPlanes open(FerryConfig config, SockmapPlaneFactory sockmapFactory)
            throws UnavailableException {
        DataPlaneConfig settings = config.dataplane();
        Map<String, DataPlaneMode> requested = new LinkedHashMap<>();
        for (ListenerConfig listener : config.listeners()) {
            requested.put(listener.name(), listener.dataplane().orElse(settings.mode()));
        }
        Set<DataPlaneMode> modes = requested.isEmpty() ? EnumSet.noneOf(DataPlaneMode.class) : EnumSet.copyOf(requested.values());
        boolean mayUseSockmap = modes.contains(DataPlaneMode.SOCKMAP) || modes.contains(DataPlaneMode.AUTO);
        boolean mayUseSplice = mayUseSockmap || modes.contains(DataPlaneMode.SPLICE);

        Availability splice = mayUseSplice ? spliceAvailability() : new Availability(false, "not probed");
        Availability sockmap = new Availability(false, "not probed");
        SockmapKernel kernel = null;
        if (mayUseSockmap) {
            sockmap = sockmapAvailability(SockmapSupport.probe());
            if (sockmap.available()) {
                int sockets = Math.multiplyExact(config.sockmap().maxConnections(), 2);
                try {
                    kernel = SockmapKernel.load(sockets);
                } catch (BpfException | RuntimeException e) {
                    sockmap = new Availability(false, "loading the program with room for " + sockets
                            + " sockets failed: " + e.getMessage());
                }
            }
        }
        try {
            DataPlane copy = new CopyDataPlane(settings.copyBufferBytes());
            SpliceDataPlane splicePlane = splice.available() ? new SpliceDataPlane(settings.splicePipeBytes(), copy) : null;
            DataPlane sockmapPlane = kernel == null ? null
                    : sockmapFactory.create(kernel, splicePlane != null ? splicePlane : copy);
            Map<DataPlaneMode, DataPlane> planes = new HashMap<>();
            planes.put(DataPlaneMode.COPY, copy);
            if (splicePlane != null) {
                planes.put(DataPlaneMode.SPLICE, splicePlane);
            }
            if (sockmapPlane != null) {
                planes.put(DataPlaneMode.SOCKMAP, sockmapPlane);
            }
            Choice auto = chooseAuto(sockmap, splice);
            if (modes.contains(DataPlaneMode.AUTO)) {
                planes.put(DataPlaneMode.AUTO, planes.get(auto.plane()));
            }
            Map<String, DataPlane> byListener = new HashMap<>();
            for (Map.Entry<String, DataPlaneMode> listener : requested.entrySet()) {
                DataPlane plane = planes.get(listener.getValue());
                if (plane == null) {
                    Availability why = listener.getValue() == DataPlaneMode.SOCKMAP ? sockmap : splice;
                    throw new UnavailableException("listener " + listener.getKey() + ": dataplane "
                            + listener.getValue().yamlName() + " is not available here: " + why.reason());
                }
                byListener.put(listener.getKey(), plane);
            }
            if (modes.contains(DataPlaneMode.AUTO)) {
                LOG.info("data plane: {} ({})", auto.plane().yamlName(), auto.reason());
            } else if (modes.size() == 1) {
                LOG.info("data plane: {} (configured)", modes.iterator().next().yamlName());
            }
            if (sockmapPlane != null) {
                LOG.info("sockmap: pairs the kernel refuses (a full map, a socket it cannot take) use the {} plane",
                        splicePlane != null ? "splice" : "copy");
            }
            return new DataPlanes(Optional.ofNullable(kernel), Optional.ofNullable(splicePlane), Map.copyOf(byListener));
        } catch (UnavailableException | RuntimeException e) {
            if (kernel != null) {
                kernel.close();
            }
            throw e;
        }
    }

    /** sockmap if it works here, else splice if it does, else copy. */
    public static Choice chooseAuto(Availability sockmap, Availability splice) {
        if (sockmap.available()) {
            return new Choice(DataPlaneMode.SOCKMAP, "auto: " + sockmap.reason());
        }
        if (splice.available()) {
            return new Choice(DataPlaneMode.SPLICE, "auto: sockmap unavailable: " + sockmap.reason());
        }
        return new Choice(DataPlaneMode.COPY, "auto: sockmap unavailable: " + sockmap.reason()
                + "; splice unavailable: " + splice.reason());
    }

    /** Sums up {@link SockmapSupport}'s findings: the failed checks that explain, or what worked. */
    public static Availability sockmapAvailability(List<SockmapSupport.Check> checks) {
        if (SockmapSupport.usable(checks)) {
            return new Availability(true, "the program loads, attaches and redirects a loopback socket here");
        }
        String failed = checks.stream()
                .filter(check -> !check.ok() && !check.name().equals(SockmapSupport.KERNEL_BTF)
                        && !check.detail().startsWith("skipped"))
                .map(check -> check.name() + ": " + check.detail())
                .collect(Collectors.joining("; "));
        return new Availability(false, failed.isEmpty() ? "the checks of ferry check failed" : failed);
    }

    public static Availability spliceAvailability() {
        SpliceSupport.Result result = SpliceSupport.probe();
        return new Availability(result.ok(), result.detail());
    }

    /** The plane of the listener's connections. */
    public DataPlane forListener(String listener) {
        DataPlane plane = byListener.get(listener);
        if (plane == null) {
            throw new IllegalArgumentException("no listener named " + listener);
        }
        return plane;
    }

    /** The kernel side of the sockmap plane, when a listener may use it. */
    public Optional<SockmapKernel> kernel() {
        return kernel;
    }

    /** Unloads the sockmap program, if loaded, and closes spare pipes; call once the event loops have terminated. */
    @Override
    public void close() {
        splice.ifPresent(SpliceDataPlane::close);
        kernel.ifPresent(SockmapKernel::close);
    }
}
