package io.shopmesh.mesh.meshctl;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code meshctl}: the mesh's command line, shaped like istioctl and kubectl. */
@Command(
    name = "meshctl",
    mixinStandardHelpOptions = true,
    version = "meshctl 0.1.0",
    description = "Runs the shop on the mesh and shows what the mesh does, as istioctl would.",
    subcommands = {
      UpCommand.class,
      AnalyzeCommand.class,
      DownCommand.class,
      StatusCommand.class,
      LogsCommand.class,
      ApplyCommand.class,
      CreateCommand.class,
      ProxyConfigCommand.class,
      MetricsCommand.class,
      TraceCommand.class,
      ExplainCommand.class,
      KillCommand.class,
      ComposeCommand.class,
      KubeInjectCommand.class,
      CommandLine.HelpCommand.class,
    })
public final class Meshctl implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Meshctl());
    cl.setExecutionExceptionHandler(
        (ex, cmd, parsed) -> {
          if (ex instanceof MeshctlException me) {
            cmd.getErr().println("error: " + me.getMessage());
            return me.exitCode();
          }
          throw ex;
        });
    return cl;
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }
}
