package dev.ferry.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The host's TCP counters for segments dropped on receive and for retransmission timeouts, from
 * /proc/net/netstat (the figures {@code nstat} shows as TcpExt*). They are host-wide: a test reads
 * them around a stretch in which only its own connections carry data.
 */
public record TcpDrops(long rcvPruned, long backlogDrop, long zeroWindowDrop, long timeouts) {
    private static final Path NETSTAT = Path.of("/proc/net/netstat");

    public static TcpDrops read() {
        Map<String, Long> tcpExt = tcpExt();
        return new TcpDrops(field(tcpExt, "RcvPruned"), field(tcpExt, "TCPBacklogDrop"),
                field(tcpExt, "TCPZeroWindowDrop"), field(tcpExt, "TCPTimeouts"));
    }

    public TcpDrops since(TcpDrops before) {
        return new TcpDrops(rcvPruned - before.rcvPruned, backlogDrop - before.backlogDrop,
                zeroWindowDrop - before.zeroWindowDrop, timeouts - before.timeouts);
    }

    @Override
    public String toString() {
        return "RcvPruned " + rcvPruned + ", TCPBacklogDrop " + backlogDrop + ", TCPZeroWindowDrop " + zeroWindowDrop
                + ", TCPTimeouts " + timeouts;
    }

    /** The file pairs a line of names with a line of values, each starting with the section's name. */
    private static Map<String, Long> tcpExt() {
        List<String> lines;
        try {
            lines = Files.readAllLines(NETSTAT);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (int i = 0; i + 1 < lines.size(); i++) {
            if (lines.get(i).startsWith("TcpExt:") && lines.get(i + 1).startsWith("TcpExt:")) {
                String[] names = lines.get(i).split("\\s+");
                String[] values = lines.get(i + 1).split("\\s+");
                Map<String, Long> fields = new HashMap<>();
                for (int j = 1; j < Math.min(names.length, values.length); j++) {
                    fields.put(names[j], Long.parseLong(values[j]));
                }
                return fields;
            }
        }
        throw new IllegalStateException(NETSTAT + " has no TcpExt section");
    }

    private static long field(Map<String, Long> fields, String name) {
        Long value = fields.get(name);
        if (value == null) {
            throw new IllegalStateException(NETSTAT + " has no TcpExt field " + name);
        }
        return value;
    }
}
