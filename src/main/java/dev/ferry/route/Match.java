package dev.ferry.route;

/** A matcher's answer about the bytes received so far. */
public enum Match {
    /** The bytes so far are consistent with a match but do not prove one; ask again when more arrive. */
    NEED_MORE,
    /** No continuation of these bytes can match. */
    NO,
    /** These bytes match, whatever follows. */
    YES
}
