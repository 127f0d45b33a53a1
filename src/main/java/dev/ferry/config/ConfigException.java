package dev.ferry.config;

/**
 * A configuration file that cannot be used, with the place to fix it.
 *
 * <p>The message reads {@code <file>:<line>:<column>: <field path>: <problem>}, the shape compilers use, so
 * editors and terminals can jump to the spot. Lines and columns count from 1.
 */
public final class ConfigException extends Exception {

    private static final long serialVersionUID = 1L;

    private final String source;
    private final int line;
    private final int column;
    private final String fieldPath;
    private final String problem;

    ConfigException(String source, int line, int column, String fieldPath, String problem) {
        super(source + ":" + line + ":" + column + ": " + fieldPath + ": " + problem);
        this.source = source;
        this.line = line;
        this.column = column;
        this.fieldPath = fieldPath;
        this.problem = problem;
    }

    /** The file name, or the name given to {@link ConfigLoader#parse(String, String)}. */
    public String source() {
        return source;
    }

    public int line() {
        return line;
    }

    public int column() {
        return column;
    }

    /** Where in the document, e.g. {@code listeners[0].routes[2].match.sni}; {@code (root)} for the whole file. */
    public String fieldPath() {
        return fieldPath;
    }

    /** What is wrong, without the location. */
    public String problem() {
        return problem;
    }
}
