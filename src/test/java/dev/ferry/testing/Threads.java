package dev.ferry.testing;

import java.util.concurrent.Executor;
import java.util.concurrent.Executors;

final class Threads {
    static final Executor VIRTUAL = Executors.newVirtualThreadPerTaskExecutor();

    private Threads() {
    }
}
