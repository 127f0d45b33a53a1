package dev.ferry.dataplane.splice;

import dev.ferry.sys.Splice;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A non-blocking pipe and the capacity the kernel gave it; whoever holds it closes it, once. */
final class Pipe {
    private static final Logger LOG = LoggerFactory.getLogger(Pipe.class);

    final int readFd;
    final int writeFd;
    final int capacity;

    private Pipe(int readFd, int writeFd, int capacity) {
        this.readFd = readFd;
        this.writeFd = writeFd;
        this.capacity = capacity;
    }

    /**
     * Makes a pipe of at least {@code bytes}; an unprivileged user past its pipe quota gets the
     * kernel's default size instead of an error.
     */
    static Pipe open(int bytes) throws IOException {
        int[] fds = Splice.pipe();
        try {
            return new Pipe(fds[0], fds[1], capacity(fds[1], bytes));
        } catch (IOException | RuntimeException e) {
            closeQuietly(fds[0]);
            closeQuietly(fds[1]);
            throw e;
        }
    }

    private static int capacity(int writeFd, int bytes) throws IOException {
        try {
            return Splice.setPipeSize(writeFd, bytes);
        } catch (IOException refused) {
            LOG.debug("keeping the default pipe size: {}", refused.getMessage());
            return Splice.pipeSize(writeFd);
        }
    }

    void close() {
        closeQuietly(readFd);
        closeQuietly(writeFd);
    }

    /** Closes a descriptor of the splice plane, logging rather than throwing: it is gone either way. */
    static void closeQuietly(int fd) {
        try {
            Splice.close(fd);
        } catch (IOException e) {
            LOG.warn("closing fd {}: {}", fd, e.getMessage());
        }
    }
}
