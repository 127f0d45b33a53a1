package dev.ferry.testing;

import java.util.List;
import java.util.regex.MatchResult;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What {@code ss -tm} reports about one established TCP socket's buffers. */
public final class SocketMemory {
    private static final Pattern SKMEM = Pattern.compile("rb(\\d+),t\\d+,tb(\\d+),f\\d+,w(\\d+)");

    private SocketMemory() {
    }

    /**
     * rb and tb (the receive and send buffer as the kernel uses them) of the one established socket
     * {@code filter} selects, e.g. {@code "sport = :8080 and dport = :41000"}.
     */
    public static List<Long> buffers(String filter) throws Exception {
        MatchResult skmem = skmem(filter);
        return List.of(Long.parseLong(skmem.group(1)), Long.parseLong(skmem.group(2)));
    }

    /** The bytes queued to send, bookkeeping included (ss's w), on the one established socket {@code filter} selects. */
    public static long sendQueue(String filter) throws Exception {
        return Long.parseLong(skmem(filter).group(3));
    }

    private static MatchResult skmem(String filter) throws Exception {
        String ss = Processes.run(List.of("ss", "-Htmn", "state", "established", filter), "", 10);
        Matcher skmem = SKMEM.matcher(ss);
        if (!skmem.find()) {
            throw new AssertionError("no socket for '" + filter + "' in:\n" + ss);
        }
        MatchResult found = skmem.toMatchResult();
        if (skmem.find()) {
            throw new AssertionError("more than one socket for '" + filter + "' in:\n" + ss);
        }
        return found;
    }
}
