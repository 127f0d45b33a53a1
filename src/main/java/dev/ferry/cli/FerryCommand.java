package dev.ferry.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code ferry} command line. */
@Command(name = "ferry",
        mixinStandardHelpOptions = true,
        version = "ferry 0.1.0",
        description = "A TCP router: decides on the first bytes of a connection, then lets the kernel forward the rest.",
        subcommands = {RunCommand.class, ValidateCommand.class, CheckCommand.class, EchoCommand.class,
                DemoCommand.class, CommandLine.HelpCommand.class})
public final class FerryCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new FerryCommand()).execute(args));
    }
}
