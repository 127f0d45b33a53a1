package dev.ferry.dataplane.sockmap;

import dev.ferry.bpf.BpfException;
import dev.ferry.bpf.BpfObject;
import dev.ferry.sys.LoopbackListener;
import dev.ferry.sys.SocketFd;
import dev.ferry.sys.Sockets;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Whether this host and process can run the sockmap data plane, for {@code ferry check}. The
 * last two checks prove it by doing it; the others explain why those fail.
 */
public final class SockmapSupport {
    public static final String KERNEL = "kernel";
    public static final String KERNEL_BTF = "kernel BTF";
    public static final String CAPABILITIES = "capabilities";
    public static final String UNPRIVILEGED_BPF = "kernel.unprivileged_bpf_disabled";
    public static final String LIBBPF = "libbpf";
    public static final String LOAD_AND_ATTACH = "program load and attach";
    public static final String SOCKET_REDIRECT = "socket redirect";

    private static final Set<String> REQUIRED = Set.of(LIBBPF, LOAD_AND_ATTACH, SOCKET_REDIRECT);
    private static final String GRANT = "run as root or grant CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN";
    private static final int CAP_NET_ADMIN = 12, CAP_SYS_ADMIN = 21, CAP_PERFMON = 38, CAP_BPF = 39;
    private static final int REDIRECT_TIMEOUT_MILLIS = 2000;

    /** One finding: {@code detail} says what was found or, when not ok, why and what to do. */
    public record Check(String name, boolean ok, String detail) {}

    private SockmapSupport() {}

    /** Runs every check; never throws. */
    public static List<Check> probe() {
        List<Check> checks = new ArrayList<>();
        checks.add(kernel());
        checks.add(kernelBtf());
        checks.add(capabilities());
        checks.add(unprivilegedBpf());
        Check libbpf = libbpf();
        checks.add(libbpf);
        if (!libbpf.ok()) {
            checks.add(new Check(LOAD_AND_ATTACH, false, "skipped: libbpf is not usable"));
            checks.add(new Check(SOCKET_REDIRECT, false, "skipped: libbpf is not usable"));
            return checks;
        }
        SockmapKernel kernel;
        try {
            kernel = SockmapKernel.load(4);
            checks.add(new Check(LOAD_AND_ATTACH, true, "ferry_verdict loaded and attached as SK_SKB_VERDICT"));
        } catch (BpfException e) {
            checks.add(new Check(LOAD_AND_ATTACH, false, e.getMessage() + hint(e)));
            checks.add(new Check(SOCKET_REDIRECT, false, "skipped: the program did not load"));
            return checks;
        } catch (RuntimeException e) {
            checks.add(new Check(LOAD_AND_ATTACH, false, e.toString()));
            checks.add(new Check(SOCKET_REDIRECT, false, "skipped: the program did not load"));
            return checks;
        }
        try (kernel) {
            checks.add(socketRedirect(kernel));
        }
        return checks;
    }

    /** True when the sockmap data plane works here: the required checks ran and passed. */
    public static boolean usable(List<Check> checks) {
        return checks.stream().filter(c -> REQUIRED.contains(c.name()) && c.ok()).count() == REQUIRED.size();
    }

    private static Check kernel() {
        String release = System.getProperty("os.version");  // uname(2) release
        String[] parts = release.split("[.-]");
        try {
            int major = Integer.parseInt(parts[0]);
            int minor = Integer.parseInt(parts[1]);
            boolean ok = major > 6 || (major == 6 && minor >= 2);
            return new Check(KERNEL, ok, "Linux " + release + (ok ? "" : ": the verdict needs Linux 6.2 or later"
                    + " (BPF_SK_SKB_VERDICT, and bpf_cast_to_kern_ctx to read TCP's sequence numbers)"));
        } catch (RuntimeException e) {
            return new Check(KERNEL, false, "cannot parse kernel release '" + release + "'");
        }
    }

    private static Check kernelBtf() {
        Path vmlinux = Path.of("/sys/kernel/btf/vmlinux");
        return Files.isReadable(vmlinux)
                ? new Check(KERNEL_BTF, true, vmlinux + " present")
                : new Check(KERNEL_BTF, false, vmlinux + " absent (kernel built without CONFIG_DEBUG_INFO_BTF):"
                        + " the verdict's CO-RE reads of struct tcp_sock (flow control) need it, so the load will fail");
    }

    private static Check capabilities() {
        long effective;
        try {
            effective = Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(line -> line.startsWith("CapEff:"))
                    .map(line -> Long.parseUnsignedLong(line.substring("CapEff:".length()).strip(), 16))
                    .findFirst().orElseThrow(() -> new IOException("no CapEff line"));
        } catch (IOException | RuntimeException e) {
            return new Check(CAPABILITIES, false, "cannot read /proc/self/status: " + e.getMessage());
        }
        boolean bpf = has(effective, CAP_BPF) || has(effective, CAP_SYS_ADMIN);
        // The verdict reads the peer's struct tcp_sock (flow control) through a BTF pointer,
        // which the verifier allows only with CAP_PERFMON (measured: EINVAL at load without it).
        boolean perfmon = has(effective, CAP_PERFMON) || has(effective, CAP_SYS_ADMIN);
        boolean netAdmin = has(effective, CAP_NET_ADMIN) || has(effective, CAP_SYS_ADMIN);
        String held = "CAP_BPF " + yesNo(has(effective, CAP_BPF)) + ", CAP_PERFMON " + yesNo(has(effective, CAP_PERFMON))
                + ", CAP_NET_ADMIN " + yesNo(has(effective, CAP_NET_ADMIN))
                + ", CAP_SYS_ADMIN " + yesNo(has(effective, CAP_SYS_ADMIN));
        return bpf && perfmon && netAdmin
                ? new Check(CAPABILITIES, true, held)
                : new Check(CAPABILITIES, false, held + ": the sk_skb program and SOCKHASH maps need CAP_BPF,"
                        + " CAP_PERFMON and CAP_NET_ADMIN (or CAP_SYS_ADMIN); " + GRANT);
    }

    private static Check unprivilegedBpf() {
        String value;
        try {
            value = Files.readString(Path.of("/proc/sys/kernel/unprivileged_bpf_disabled")).strip();
        } catch (IOException e) {
            return new Check(UNPRIVILEGED_BPF, false, "cannot read: " + e.getMessage());
        }
        // sk_skb programs always need privileges, so the sysctl matters only for a process without them.
        if (privileged() || value.equals("0")) {
            return new Check(UNPRIVILEGED_BPF, true, value + " (no obstacle: sk_skb programs need CAP_BPF,"
                    + " CAP_PERFMON and CAP_NET_ADMIN whatever its value)");
        }
        return new Check(UNPRIVILEGED_BPF, false, value + ": this process may not use bpf() at all; " + GRANT);
    }

    private static Check libbpf() {
        try {
            return new Check(LIBBPF, true, "libbpf.so.1 " + BpfObject.libbpfVersion());
        } catch (BpfException e) {
            return new Check(LIBBPF, false, e.getMessage());
        }
    }

    /** Inserts a real ESTABLISHED loopback socket as an echo and sends a few bytes through it. */
    private static Check socketRedirect(SockmapKernel kernel) {
        byte[] probe = "ferry check".getBytes(StandardCharsets.US_ASCII);
        try (LoopbackListener listener = LoopbackListener.open();
             Socket client = new Socket(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), listener.port());
             SocketFd server = listener.accept()) {
            long cookie = Sockets.cookie(server.value());
            kernel.insertEcho(server.value(), cookie);
            try {
                client.setSoTimeout(REDIRECT_TIMEOUT_MILLIS);
                client.getOutputStream().write(probe);
                // SO_TIMEOUT turns a lost redirect into a SocketTimeoutException instead of a hang.
                byte[] echoed = client.getInputStream().readNBytes(probe.length);
                long redirected = kernel.counters(cookie).map(SockmapKernel.ConnCounters::redirectedBytes).orElse(-1L);
                if (!Arrays.equals(probe, echoed) || redirected != probe.length) {
                    return new Check(SOCKET_REDIRECT, false, "sent " + probe.length + " bytes, got "
                            + echoed.length + " back, the program counted " + redirected);
                }
            } finally {
                kernel.remove(cookie);
            }
            SockmapKernel.MapOccupancy left = kernel.occupancy();
            return left.isEmpty()
                    ? new Check(SOCKET_REDIRECT, true, "a loopback socket echoed " + probe.length
                            + " bytes through the kernel and left the maps clean")
                    : new Check(SOCKET_REDIRECT, false, "entries left in the maps after removal: " + left);
        } catch (BpfException e) {
            return new Check(SOCKET_REDIRECT, false, e.getMessage() + hint(e));
        } catch (IOException | RuntimeException e) {
            return new Check(SOCKET_REDIRECT, false, e.toString());
        }
    }

    private static String hint(BpfException e) {
        return switch (e.errnoName()) {
            case "EPERM", "EACCES" -> e.verifierLog().isEmpty() ? "; " + GRANT : "; the verifier rejected the program";
            case "EINVAL", "EOPNOTSUPP", "ENOTSUPP" -> "; the kernel may lack sockmap support"
                    + " (CONFIG_BPF_STREAM_PARSER, CONFIG_NET_SOCK_MSG) or be older than 6.2";
            case "ELIBACC" -> "; install the libbpf1 package";
            default -> "";
        };
    }

    private static boolean privileged() {
        return capabilities().ok();
    }

    private static boolean has(long capabilities, int capability) {
        return (capabilities & (1L << capability)) != 0;
    }

    private static String yesNo(boolean held) {
        return held ? "yes" : "no";
    }
}
