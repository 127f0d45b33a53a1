package dev.ferry.testing;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;

/** A reproducible random byte stream: a seed and a length, so both ends can know its SHA-256. */
public final class RandomStream {
    private final SplittableRandom random;
    private long remaining;

    public RandomStream(long seed, long length) {
        this.random = new SplittableRandom(seed);
        this.remaining = length;
    }

    /** Fills up to {@code buffer.length} bytes; returns how many, 0 at the end. */
    public int next(byte[] buffer) {
        int count = (int) Math.min(buffer.length, remaining);
        int i = 0;
        for (; i + 8 <= count; i += 8) {
            long value = random.nextLong();
            for (int b = 0; b < 8; b++) {
                buffer[i + b] = (byte) (value >>> (b * 8));
            }
        }
        if (i < count) {
            long value = random.nextLong();
            for (int b = 0; i < count; i++, b++) {
                buffer[i] = (byte) (value >>> (b * 8));
            }
        }
        remaining -= count;
        return count;
    }

    public static String sha256(long seed, long length) {
        RandomStream stream = new RandomStream(seed, length);
        MessageDigest digest = newDigest();
        byte[] buffer = new byte[64 * 1024];
        int n;
        while ((n = stream.next(buffer)) > 0) {
            digest.update(buffer, 0, n);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    public static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
