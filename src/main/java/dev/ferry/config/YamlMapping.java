package dev.ferry.config;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A mapping whose keys have been checked against the allowed ones.
 *
 * @param self the mapping itself, for errors about missing keys
 * @param entries value nodes by key, in file order
 */
record YamlMapping(YamlNode self, Map<String, YamlNode> entries) {

    YamlMapping {
        entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
    }

    Optional<YamlNode> optional(String key) {
        return Optional.ofNullable(entries.get(key));
    }

    YamlNode required(String key) throws ConfigException {
        YamlNode value = entries.get(key);
        if (value == null) {
            throw self.error("missing required key '" + key + "'");
        }
        return value;
    }

    /** The duration under {@code key}, or {@code fallback} when the key is absent. */
    Duration duration(String key, Duration fallback) throws ConfigException {
        YamlNode value = entries.get(key);
        return value == null ? fallback : value.duration();
    }

    /** The positive integer under {@code key}, or {@code fallback} when the key is absent. */
    int positiveInt(String key, int max, int fallback) throws ConfigException {
        YamlNode value = entries.get(key);
        return value == null ? fallback : value.positiveInt(max);
    }

    /** The boolean under {@code key}, or {@code fallback} when the key is absent. */
    boolean bool(String key, boolean fallback) throws ConfigException {
        YamlNode value = entries.get(key);
        return value == null ? fallback : value.bool();
    }

    Set<String> keys() {
        return entries.keySet();
    }
}
