package dev.ferry.connect;

/**
 * The lookup table of Maglev hashing (Eisenbud et al., NSDI 2016), with Envoy's weighting: each endpoint
 * fills table slots in the order of its own permutation, taking turns in proportion to its weight, so every
 * endpoint owns a share of the table close to its share of the weight, and removing an endpoint moves
 * mostly the keys it owned.
 *
 * <p>Permutations derive from the endpoints' names (their {@code address:port}), not their positions, so the
 * same set gives the same table in every process.
 */
final class Maglev {
    /** Prime; Envoy's default. At least 100 slots per endpoint keep shares within about 1% of their weight. */
    static final int DEFAULT_SIZE = 65537;

    private final int[] table;

    private Maglev(int[] table) {
        this.table = table;
    }

    /**
     * @param names one per endpoint, distinct
     * @param weights one per endpoint, positive
     */
    static Maglev build(String[] names, int[] weights) {
        int n = names.length;
        if (n == 0) {
            return new Maglev(new int[0]);
        }
        int size = tableSize(n);
        long[] offset = new long[n];
        long[] skip = new long[n];
        long[] next = new long[n];
        long[] target = new long[n];
        int maxWeight = 1;
        for (int i = 0; i < n; i++) {
            offset[i] = Long.remainderUnsigned(Hashing.hash(names[i], 0x6d61676c6576L), size);
            skip[i] = Long.remainderUnsigned(Hashing.hash(names[i], 0x736b6970L), size - 1) + 1;
            maxWeight = Math.max(maxWeight, weights[i]);
        }
        int[] table = new int[size];
        java.util.Arrays.fill(table, -1);
        int filled = 0;
        for (long round = 0; ; round++) {
            for (int i = 0; i < n; i++) {
                // An endpoint of half the largest weight takes a turn every other round.
                if (round * weights[i] < target[i]) {
                    continue;
                }
                target[i] += maxWeight;
                int slot;
                do {
                    slot = (int) ((offset[i] + next[i] * skip[i]) % size);
                    next[i]++;
                } while (table[slot] >= 0);
                table[slot] = i;
                if (++filled == size) {
                    return new Maglev(table);
                }
            }
        }
    }

    static int tableSize(int endpoints) {
        int size = DEFAULT_SIZE;
        while (size < endpoints * 100L) {
            size = nextPrime(size * 2);
        }
        return size;
    }

    private static int nextPrime(int from) {
        for (int candidate = from | 1; ; candidate += 2) {
            boolean prime = true;
            for (int d = 3; (long) d * d <= candidate; d += 2) {
                if (candidate % d == 0) {
                    prime = false;
                    break;
                }
            }
            if (prime) {
                return candidate;
            }
        }
    }

    /** The same table with every endpoint index {@code k} replaced by {@code toIndex[k]}. */
    Maglev remap(int[] toIndex) {
        int[] remapped = new int[table.length];
        for (int slot = 0; slot < table.length; slot++) {
            remapped[slot] = toIndex[table[slot]];
        }
        return new Maglev(remapped);
    }

    int size() {
        return table.length;
    }

    /** The endpoint index in slot {@code slot}. */
    int at(int slot) {
        return table[slot];
    }

    /** The slot a key hash starts its lookup at. */
    int slotOf(long keyHash) {
        return (int) Long.remainderUnsigned(keyHash, table.length);
    }
}
