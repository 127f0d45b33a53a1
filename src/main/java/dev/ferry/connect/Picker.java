package dev.ferry.connect;

import dev.ferry.config.HashOn;
import dev.ferry.config.LoadBalancing;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A load-balancing algorithm bound to one set of endpoints. Immutable apart from the shared rotation counter,
 * so connecting threads use it without locks; a new set of endpoints (DNS, reload) gets a new picker.
 *
 * <p>{@link #order} answers the endpoints a connection should try, best first: the algorithm's pick, then the
 * other available endpoints for the retries. Unavailable endpoints (down or ejected) are left out; an empty
 * answer means none is available.
 */
abstract sealed class Picker {
    final Endpoint[] endpoints;
    final int[] weights;

    Picker(Endpoint[] endpoints, int[] weights) {
        this.endpoints = endpoints;
        this.weights = weights;
    }

    static Picker create(LoadBalancing algorithm, Optional<HashOn> hashOn, Endpoint[] endpoints, int[] weights,
                         AtomicLong rotation) {
        return switch (algorithm) {
            case ROUND_ROBIN -> new RoundRobin(endpoints, weights, rotation);
            case LEAST_CONNECTIONS -> new LeastConnections(endpoints, weights, rotation);
            case RANDOM_TWO_CHOICES -> new RandomTwoChoices(endpoints, weights);
            case CONSISTENT_HASH -> new ConsistentHash(endpoints, weights, hashOn.orElseThrow());
        };
    }

    abstract List<Endpoint> order(ConnectionKeys keys, long nowNanos);

    /** {@code first} (if any), then every other available endpoint in ring order from {@code from}. */
    final List<Endpoint> withRetries(int first, int from, long nowNanos) {
        List<Endpoint> order = new ArrayList<>(endpoints.length);
        if (first >= 0) {
            order.add(endpoints[first]);
        }
        for (int step = 0; step < endpoints.length; step++) {
            int i = (from + step) % endpoints.length;
            if (i != first && endpoints[i].available(nowNanos)) {
                order.add(endpoints[i]);
            }
        }
        return order;
    }

    /** active/weight of {@code a} is below that of {@code b}. */
    final boolean lessLoaded(int a, int b) {
        return (long) endpoints[a].active.get() * weights[b] < (long) endpoints[b].active.get() * weights[a];
    }

    /**
     * Weighted round robin from a precomputed schedule: earliest deadline first, each endpoint due every
     * 1/weight, half a period in; so weights 2:1 give a b a, and equal weights plain rotation in file order.
     */
    static final class RoundRobin extends Picker {
        private final int[] schedule;
        private final AtomicLong rotation;

        RoundRobin(Endpoint[] endpoints, int[] weights, AtomicLong rotation) {
            super(endpoints, weights);
            this.rotation = rotation;
            this.schedule = schedule(weights);
        }

        static int[] schedule(int[] weights) {
            int n = weights.length;
            if (n == 0) {
                return new int[0];
            }
            int gcd = weights[0];
            long total = 0;
            for (int w : weights) {
                gcd = java.math.BigInteger.valueOf(gcd).gcd(java.math.BigInteger.valueOf(w)).intValue();
            }
            int[] reduced = new int[n];
            for (int i = 0; i < n; i++) {
                reduced[i] = weights[i] / gcd;
                total += reduced[i];
            }
            int[] turns = new int[n];
            // deadline of endpoint i's next turn = (2 * turns + 1) / (2 * weight); ties go to the lower index
            PriorityQueue<Integer> due = new PriorityQueue<>((a, b) -> {
                int byDeadline = Long.compare((2L * turns[a] + 1) * reduced[b], (2L * turns[b] + 1) * reduced[a]);
                return byDeadline != 0 ? byDeadline : Integer.compare(a, b);
            });
            for (int i = 0; i < n; i++) {
                due.add(i);
            }
            int[] schedule = new int[(int) total];
            for (int k = 0; k < total; k++) {
                int i = due.poll();
                schedule[k] = i;
                turns[i]++;
                due.add(i);
            }
            return schedule;
        }

        @Override
        List<Endpoint> order(ConnectionKeys keys, long nowNanos) {
            if (schedule.length == 0) {
                return List.of();
            }
            int start = (int) Math.floorMod(rotation.getAndIncrement(), (long) schedule.length);
            for (int step = 0; step < schedule.length; step++) {
                int i = schedule[(start + step) % schedule.length];
                if (endpoints[i].available(nowNanos)) {
                    return withRetries(i, i + 1, nowNanos);
                }
            }
            return List.of();
        }
    }

    /** The fewest open connections per unit of weight; ties rotate so that idle endpoints share the start. */
    static final class LeastConnections extends Picker {
        private final AtomicLong rotation;

        LeastConnections(Endpoint[] endpoints, int[] weights, AtomicLong rotation) {
            super(endpoints, weights);
            this.rotation = rotation;
        }

        @Override
        List<Endpoint> order(ConnectionKeys keys, long nowNanos) {
            int n = endpoints.length;
            if (n == 0) {
                return List.of();
            }
            int start = (int) Math.floorMod(rotation.getAndIncrement(), (long) n);
            int best = -1;
            for (int step = 0; step < n; step++) {
                int i = (start + step) % n;
                if (endpoints[i].available(nowNanos) && (best < 0 || lessLoaded(i, best))) {
                    best = i;
                }
            }
            return best < 0 ? List.of() : withRetries(best, best + 1, nowNanos);
        }
    }

    /**
     * The power of two random choices (Mitzenmacher): two distinct endpoints drawn by weight, the less loaded
     * one wins. Nearly as even as least connections, without every connection piling onto one endpoint while
     * counts lag.
     */
    static final class RandomTwoChoices extends Picker {
        RandomTwoChoices(Endpoint[] endpoints, int[] weights) {
            super(endpoints, weights);
        }

        @Override
        List<Endpoint> order(ConnectionKeys keys, long nowNanos) {
            int n = endpoints.length;
            long total = 0;
            int available = 0;
            for (int i = 0; i < n; i++) {
                if (endpoints[i].available(nowNanos)) {
                    total += weights[i];
                    available++;
                }
            }
            if (available == 0) {
                return List.of();
            }
            ThreadLocalRandom random = ThreadLocalRandom.current();
            int first = draw(random.nextLong(total), -1, nowNanos);
            if (available == 1) {
                return withRetries(first, first + 1, nowNanos);
            }
            int second = draw(random.nextLong(total - weights[first]), first, nowNanos);
            int winner = lessLoaded(second, first) ? second : first;
            int loser = winner == first ? second : first;
            List<Endpoint> order = new ArrayList<>(withRetries(winner, loser, nowNanos));
            return order;
        }

        /** The available endpoint (other than {@code skip}) at cumulative weight {@code point}. */
        private int draw(long point, int skip, long nowNanos) {
            int last = -1;
            for (int i = 0; i < endpoints.length; i++) {
                if (i == skip || !endpoints[i].available(nowNanos)) {
                    continue;
                }
                last = i;
                point -= weights[i];
                if (point < 0) {
                    return i;
                }
            }
            return last;
        }
    }

    /**
     * Maglev consistent hashing on the SNI, the Host or the source address. A key whose endpoint is unavailable
     * walks on through the table to the next available endpoint, so only the keys of that endpoint move, and
     * they spread over the others; retries follow the same walk.
     */
    static final class ConsistentHash extends Picker {
        /** How far a lookup walks before falling back to ring order; the table interleaves endpoints well. */
        private static final int WALK_PER_ENDPOINT = 64;

        private final HashOn hashOn;
        private final Maglev table;

        ConsistentHash(Endpoint[] endpoints, int[] weights, HashOn hashOn) {
            super(endpoints, weights);
            this.hashOn = hashOn;
            // Built in name order, so that the table does not depend on the order of the file or of DNS answers.
            Integer[] byName = new Integer[endpoints.length];
            for (int i = 0; i < byName.length; i++) {
                byName[i] = i;
            }
            java.util.Arrays.sort(byName, java.util.Comparator.comparing(i -> endpoints[i].label()));
            String[] names = new String[endpoints.length];
            int[] sortedWeights = new int[endpoints.length];
            for (int k = 0; k < byName.length; k++) {
                names[k] = endpoints[byName[k]].label();
                sortedWeights[k] = weights[byName[k]];
            }
            Maglev sorted = Maglev.build(names, sortedWeights);
            int[] toIndex = new int[byName.length];
            for (int k = 0; k < byName.length; k++) {
                toIndex[k] = byName[k];
            }
            this.table = sorted.remap(toIndex);
        }

        static String key(HashOn hashOn, ConnectionKeys keys) {
            Optional<String> key = switch (hashOn) {
                case SNI -> keys.sni().map(name -> name.toLowerCase(Locale.ROOT));
                case HOST -> keys.host().map(ConsistentHash::hostWithoutPort);
                case SOURCE -> Optional.empty();
            };
            // Without the key it was told to use, a connection still sticks: to its client's address.
            return key.orElseGet(() -> keys.source().getAddress().getHostAddress());
        }

        static String hostWithoutPort(String host) {
            String lower = host.toLowerCase(Locale.ROOT);
            int colon = lower.lastIndexOf(':');
            if (colon > 0 && lower.indexOf(']') < colon && (lower.startsWith("[") || lower.indexOf(':') == colon)) {
                return lower.substring(0, colon);
            }
            return lower;
        }

        /** The endpoint index the key maps to when every endpoint is available. */
        int owner(String key) {
            return table.at(table.slotOf(Hashing.hash(key)));
        }

        @Override
        List<Endpoint> order(ConnectionKeys keys, long nowNanos) {
            int n = endpoints.length;
            if (n == 0) {
                return List.of();
            }
            int slot = table.slotOf(Hashing.hash(key(hashOn, keys)));
            List<Endpoint> order = new ArrayList<>(n);
            boolean[] seen = new boolean[n];
            int walk = Math.min(table.size(), WALK_PER_ENDPOINT * n);
            for (int step = 0; step < walk && order.size() < n; step++) {
                int i = table.at((slot + step) % table.size());
                if (!seen[i]) {
                    seen[i] = true;
                    if (endpoints[i].available(nowNanos)) {
                        order.add(endpoints[i]);
                    }
                }
            }
            for (int i = 0; i < n; i++) {
                if (!seen[i] && endpoints[i].available(nowNanos)) {
                    order.add(endpoints[i]);
                }
            }
            return order;
        }
    }
}
