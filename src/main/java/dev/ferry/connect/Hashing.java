package dev.ferry.connect;

import java.nio.charset.StandardCharsets;

/**
 * A stable 64-bit string hash: FNV-1a over the UTF-8 bytes, then MurmurHash3's finalizer so that every bit of
 * the input moves every bit of the output. Stable across processes and versions, unlike {@link String#hashCode()}
 * spread, so a tenant keeps its endpoint across restarts of Ferry too.
 */
final class Hashing {
    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    private Hashing() {
    }

    static long hash(String key, long seed) {
        long h = FNV_OFFSET ^ seed;
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= FNV_PRIME;
        }
        return mix(h);
    }

    static long hash(String key) {
        return hash(key, 0);
    }

    /** MurmurHash3 fmix64. */
    static long mix(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }
}
