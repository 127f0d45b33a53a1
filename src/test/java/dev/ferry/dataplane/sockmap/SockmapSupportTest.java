package dev.ferry.dataplane.sockmap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.dataplane.sockmap.SockmapSupport.Check;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class SockmapSupportTest {
    @Test
    void everyCheckPassesForRootOnThisKernel() {
        List<Check> checks = SockmapSupport.probe();
        checks.forEach(System.out::println);
        assertEquals(List.of(SockmapSupport.KERNEL, SockmapSupport.KERNEL_BTF, SockmapSupport.CAPABILITIES,
                        SockmapSupport.UNPRIVILEGED_BPF, SockmapSupport.LIBBPF, SockmapSupport.LOAD_AND_ATTACH,
                        SockmapSupport.SOCKET_REDIRECT),
                checks.stream().map(Check::name).toList());
        for (Check check : checks) {
            assertTrue(check.ok(), check.toString());
            assertFalse(check.detail().isBlank(), check.toString());
        }
        assertTrue(SockmapSupport.usable(checks));
    }

    @Test
    void unusableWhenARequiredCheckFailedOrIsMissing() {
        Check load = new Check(SockmapSupport.LOAD_AND_ATTACH, false, "load program ferry_verdict failed: EPERM");
        assertFalse(SockmapSupport.usable(List.of(load)));
        assertFalse(SockmapSupport.usable(List.of()));
        assertTrue(SockmapSupport.usable(List.of(
                new Check(SockmapSupport.KERNEL_BTF, false, "absent"),
                new Check(SockmapSupport.LIBBPF, true, "v1.1"),
                new Check(SockmapSupport.LOAD_AND_ATTACH, true, "loaded"),
                new Check(SockmapSupport.SOCKET_REDIRECT, true, "echoed"))));
    }
}
