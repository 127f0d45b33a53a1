package dev.ferry.bpf;

import dev.ferry.sys.Errno;
import java.io.Serial;
import java.util.List;

/** A libbpf or bpf() call failed; says what was being done, the errno, and the verifier's reasons. */
public final class BpfException extends Exception {
    @Serial
    private static final long serialVersionUID = 1L;
    private static final int LOG_LINES_IN_MESSAGE = 12;

    // libbpf's own codes (enum libbpf_errno in libbpf.h), returned the way errnos are.
    private static final int LIBBPF_ERRNO_START = 4000;
    private static final String[][] LIBBPF_ERRNOS = {
            {"LIBELF", "something wrong in libelf"},
            {"FORMAT", "BPF object format invalid"},
            {"KVERSION", "incorrect or no 'version' section"},
            {"ENDIAN", "endian mismatch"},
            {"INTERNAL", "internal error in libbpf"},
            {"RELOC", "relocation failed"},
            {"LOAD", "load program failure for unknown reason"},
            {"VERIFY", "kernel verifier blocks program loading"},
            {"PROG2BIG", "program too big"},
            {"KVER", "incorrect kernel version"},
            {"PROGTYPE", "kernel doesn't support this program type"},
            {"WRNGPID", "wrong pid in netlink message"},
            {"INVSEQ", "invalid netlink sequence"},
            {"NLPARSE", "netlink parsing error"},
    };

    private final String operation;
    private final int errno;
    private final String verifierLog;

    public BpfException(String operation, int errno) {
        this(operation, errno, "");
    }

    public BpfException(String operation, int errno, String verifierLog) {
        super(message(operation, errno, verifierLog));
        this.operation = operation;
        this.errno = errno;
        this.verifierLog = verifierLog;
    }

    /** What was being done, e.g. "update map sock_sources". */
    public String operation() {
        return operation;
    }

    public int errno() {
        return errno;
    }

    /** "EPERM", "EOPNOTSUPP", "LIBBPF_ERRNO__FORMAT", ... or "errno 123". */
    public String errnoName() {
        return name(errno);
    }

    private static String name(int errno) {
        return isLibbpfErrno(errno)
                ? "LIBBPF_ERRNO__" + LIBBPF_ERRNOS[errno - LIBBPF_ERRNO_START][0]
                : Errno.name(errno);
    }

    private static String describe(int errno) {
        return isLibbpfErrno(errno)
                ? name(errno) + " (" + LIBBPF_ERRNOS[errno - LIBBPF_ERRNO_START][1] + ")"
                : Errno.describe(errno);
    }

    private static boolean isLibbpfErrno(int errno) {
        return errno >= LIBBPF_ERRNO_START && errno < LIBBPF_ERRNO_START + LIBBPF_ERRNOS.length;
    }

    /** The kernel verifier's complete log when a program was rejected, else "". */
    public String verifierLog() {
        return verifierLog;
    }

    // The verifier states its reason at the end of the log, so the message keeps the tail.
    private static String message(String operation, int errno, String verifierLog) {
        String message = operation + " failed: " + describe(errno);
        if (verifierLog.isBlank()) {
            return message;
        }
        List<String> lines = verifierLog.strip().lines().toList();
        int from = Math.max(0, lines.size() - LOG_LINES_IN_MESSAGE);
        return message + "; verifier log" + (from > 0 ? " (last " + (lines.size() - from) + " of " + lines.size()
                + " lines)" : "") + ":\n" + String.join("\n", lines.subList(from, lines.size()));
    }
}
