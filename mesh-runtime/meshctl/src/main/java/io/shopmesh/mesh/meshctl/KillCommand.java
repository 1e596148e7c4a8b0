package io.shopmesh.mesh.meshctl;

import io.shopmesh.mesh.meshctl.local.MeshState;
import io.shopmesh.mesh.meshctl.local.StateStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code meshctl kill POD...}: crash or freeze a container, to watch the mesh's retries and
 * timeouts.
 */
@Command(
    name = "kill",
    mixinStandardHelpOptions = true,
    description = {
      "Sends a signal to a container of each POD (the app by default): KILL crashes it (the mesh",
      "restarts it, as a kubelet would), STOP freezes it (it accepts connections and never answers), CONT",
      "thaws it. For the walkthrough's retries and timeouts."
    })
public final class KillCommand implements Callable<Integer> {

  @Parameters(
      arity = "1..*",
      paramLabel = "POD",
      description = "Pod names (unique prefixes are enough).")
  List<String> pods;

  @Option(
      names = {"-c", "--container"},
      paramLabel = "CONTAINER",
      description = "Container (default: the app).")
  String container;

  @Option(
      names = {"-s", "--signal"},
      defaultValue = "KILL",
      paramLabel = "SIGNAL",
      description = "KILL, TERM, STOP or CONT (default: ${DEFAULT-VALUE}).")
  String signal;

  @Mixin MeshOptions mesh;

  @Override
  public Integer call() throws Exception {
    String sig = signal.toUpperCase(Locale.ROOT).replaceFirst("^SIG", "");
    if (!List.of("KILL", "TERM", "STOP", "CONT").contains(sig)) {
      throw new MeshctlException("signal must be KILL, TERM, STOP or CONT", 2);
    }
    MeshState st = mesh.requireRunning();
    List<String[]> targets = new ArrayList<>();
    for (String name : pods) {
      MeshState.PodState p = mesh.requirePod(st, name);
      MeshState.ContainerState c =
          container == null
              ? p.defaultContainer()
              : p.container(container)
                  .orElseThrow(
                      () ->
                          new MeshctlException("no container '" + container + "' in " + p.name()));
      if (!StateStore.alive(c.pid(), c.startMillis())) {
        throw new MeshctlException(c.name() + " of " + p.name() + " is not running");
      }
      targets.add(new String[] {p.name(), c.name(), Long.toString(c.pid())});
    }
    for (String[] t : targets) {
      Process k = new ProcessBuilder("kill", "-" + sig, t[2]).inheritIO().start();
      if (!k.waitFor(10, TimeUnit.SECONDS) || k.exitValue() != 0) {
        throw new MeshctlException("kill -" + sig + " " + t[2] + " failed");
      }
      System.out.println("SIG" + sig + " sent to " + t[1] + " of " + t[0] + " (pid " + t[2] + ")");
    }
    return 0;
  }
}
