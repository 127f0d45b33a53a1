package dev.ferry.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The {@code dataplane}, {@code splice} and {@code copy} keys, at the top level and per listener. */
class DataPlaneConfigTest {

    private static final String LISTENERS = """
            listeners:
              - name: edge
                address: 127.0.0.1:8443
                routes:
                  - cluster: eu
              - name: bulk
                address: 127.0.0.1:8444
                dataplane: copy
                routes:
                  - cluster: eu
            clusters:
              - { name: eu, endpoints: ["127.0.0.1:9001"] }
            """;

    @Test
    void defaultsAreAutoWithDefaultBuffers() throws ConfigException {
        FerryConfig config = ConfigLoader.parse(LISTENERS, "test.yaml");
        assertEquals(DataPlaneConfig.DEFAULTS, config.dataplane());
        assertEquals(DataPlaneMode.AUTO, config.dataplane().mode());
        assertEquals(Optional.empty(), config.listeners().get(0).dataplane());
        assertEquals(Optional.of(DataPlaneMode.COPY), config.listeners().get(1).dataplane());
    }

    @ParameterizedTest
    @CsvSource({"sockmap, SOCKMAP", "splice, SPLICE", "copy, COPY", "auto, AUTO"})
    void everyPlaneHasItsName(String yaml, DataPlaneMode mode) throws ConfigException {
        FerryConfig config = ConfigLoader.parse("dataplane: " + yaml + "\n" + LISTENERS, "test.yaml");
        assertEquals(mode, config.dataplane().mode());
        assertEquals(yaml, mode.yamlName());
    }

    @Test
    void bufferSizesAreRead() throws ConfigException {
        FerryConfig config = ConfigLoader.parse("""
                dataplane: splice
                splice: { pipe_bytes: 1048576 }
                copy: { buffer_bytes: 131072 }
                """ + LISTENERS, "test.yaml");
        assertEquals(new DataPlaneConfig(DataPlaneMode.SPLICE, 1048576, 131072), config.dataplane());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            dataplane: ebpf                 | 1:12: dataplane: unknown data plane 'ebpf': expected one of sockmap, splice, copy, auto
            dataplane: SPLICE               | 1:12: dataplane: unknown data plane 'SPLICE'
            splice: { pipe_bytes: 100 }     | 1:23: splice.pipe_bytes: must be at least 4096, got 100
            splice: { pipe_bytes: 0 }       | 1:23: splice.pipe_bytes: must be positive, got 0
            splice: { pipe_size: 65536 }    | 1:11: splice.pipe_size: unknown key 'pipe_size' (allowed: pipe_bytes)
            copy: { buffer_bytes: lots }    | 1:23: copy.buffer_bytes: expected a whole number, got 'lots'
            """)
    void invalidSettingsAreRefusedWithTheirLocation(String line, String expected) {
        ConfigException error = assertThrows(ConfigException.class,
                () -> ConfigLoader.parse(line + "\n" + LISTENERS, "test.yaml"));
        assertTrue(error.getMessage().startsWith("test.yaml:" + expected), error.getMessage());
    }

    @Test
    void anUnknownListenerPlaneIsRefusedWithItsLocation() {
        ConfigException error = assertThrows(ConfigException.class,
                () -> ConfigLoader.parse(LISTENERS.replace("dataplane: copy", "dataplane: fast"), "test.yaml"));
        assertTrue(error.getMessage().startsWith(
                "test.yaml:8:16: listeners[1].dataplane: unknown data plane 'fast': expected one of sockmap, splice,"
                        + " copy, auto"), error.getMessage());
    }
}
