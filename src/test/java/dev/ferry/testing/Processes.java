package dev.ferry.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a real peer program (openssl, curl) with input, a deadline, and its output returned. */
public final class Processes {
    private Processes() {
    }

    /** Returns stdout and stderr together; fails if the program outlives {@code seconds}. */
    public static String run(List<String> command, String input, long seconds) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try (OutputStream in = process.getOutputStream()) {
            in.write(input.getBytes(StandardCharsets.UTF_8));
        } catch (IOException closedEarly) {
            // The program may exit before reading its input; its output still tells what happened.
        }
        var output = new java.util.concurrent.CompletableFuture<String>();
        Thread.startVirtualThread(() -> {
            try {
                output.complete(new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                output.completeExceptionally(e);
            }
        });
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(command.getFirst() + " did not finish within " + seconds + " s");
        }
        try {
            return output.get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IOException("cannot read the output of " + command.getFirst(), e);
        }
    }
}
