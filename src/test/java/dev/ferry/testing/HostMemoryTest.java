package dev.ferry.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The instrument the flow-control memory checks rest on. On a host whose balloon reports free pages, MemFree falls
 * by 64-128 MB for each report's round trip; a memory check must not take that for memory the router took.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class HostMemoryTest {
    private static final long MIB = 1024 * 1024;
    /** A report holds 32 blocks of at least 2 MiB, a dip of 64 MiB; half that is well clear of other movement. */
    private static final long REPORT_DIP = 32 * MIB;

    /**
     * A process touches 2 GiB and exits. The kernel reports the freed blocks a few at a time every 2 s, and some
     * of the samples taken every 10 ms for 8 s after land in reports. The low watermark must set those aside and
     * keep a low point that reporting did not lower.
     */
    @Test
    void theLowWatermarkSetsAsideSamplesThatFreePageReportingLowered() throws Exception {
        assumeTrue(FreePageReporting.offered(), "no virtio balloon offering free page reporting on this host");
        // Reporting starts 2 s after the blocks are freed; a process that is still touching its pages would move
        // MemFree and AnonPages at different moments, so the measurement starts once it is gone.
        touchAndFree2GiB();
        long reportsBefore = FreePageReporting.reportsAnswered();
        HostMemory.Snapshot before = HostMemory.Snapshot.take();
        try (HostMemory.LowWatermark memory = new HostMemory.LowWatermark(Duration.ofMillis(10))) {
            Thread.sleep(8_000);
            HostMemory.Snapshot lowest = memory.lowest();
            long reports = FreePageReporting.reportsAnswered() - reportsBefore;
            long overlappedFall = memory.lowestOverlapped().map(overlapped -> overlapped.fallSince(before)).orElse(0L);
            System.out.printf("%d reports answered; kept low point %d MB below before, lowest set aside %d MB; %s%n",
                    reports, lowest.fallSince(before) / 1_000_000, overlappedFall / 1_000_000, memory.samplesKept());
            assertTrue(reports > 0, "the balloon answered no report in 8 s after 2 GiB were freed");
            assertTrue(lowest.fallSince(before) < REPORT_DIP, "the kept low point fell with a report: "
                    + lowest.describeFallSince(before));
            assertTrue(overlappedFall >= REPORT_DIP, "no sample set aside showed a report's dip: "
                    + memory.samplesKept() + "; the lowest set aside fell " + overlappedFall / MIB + " MiB");
        }
    }

    /** A JVM that pre-touches a 2 GiB heap and exits at once: 2 GiB of whole free blocks, none reported yet. */
    private static void touchAndFree2GiB() throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process process = new ProcessBuilder(java, "-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch", "-version")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the 2 GiB JVM did not exit within 60 s");
        assertEquals(0, process.exitValue(), "the 2 GiB JVM failed");
    }
}
