package io.shopmesh.mesh.meshctl;

import io.shopmesh.mesh.meshctl.local.MeshState;
import io.shopmesh.mesh.meshctl.local.StateStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code meshctl down}: stops the mesh that {@code up -d} started, and every process of it. */
@Command(
    name = "down",
    mixinStandardHelpOptions = true,
    description =
        "Stops the running mesh (istiod, gateway, every pod, the payment provider). No process is left.")
public final class DownCommand implements Callable<Integer> {

  @Mixin MeshOptions mesh;

  @Override
  public Integer call() throws Exception {
    StateStore store = mesh.store();
    Optional<MeshState> st = store.read();
    if (st.isEmpty()) {
      System.out.println("meshctl: no mesh is running here");
      return 0;
    }
    MeshState s = st.get();
    long t = System.currentTimeMillis();
    Optional<ProcessHandle> sup =
        ProcessHandle.of(s.supervisorPid())
            .filter(h -> StateStore.alive(s.supervisorPid(), s.supervisorStartMillis()));
    if (sup.isPresent()) {
      System.out.println(
          "meshctl: stopping the mesh (supervisor pid " + s.supervisorPid() + ")...");
      sup.get().destroy(); // SIGTERM: its shutdown hook stops every process
      try {
        sup.get().onExit().get(30, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        sup.get().destroyForcibly();
      }
    }
    int left = killLeftovers(s);
    store.delete();
    long processes = s.pods().stream().mapToLong(p -> p.containers().size()).sum();
    System.out.println(
        "meshctl: stopped "
            + processes
            + " processes in "
            + String.format(Locale.ROOT, "%.1f s", (System.currentTimeMillis() - t) / 1000.0)
            + (left > 0 ? " (" + left + " had to be killed)" : ""));
    return 0;
  }

  /** Kills any process of the state that still runs (same pid and start time). */
  static int killLeftovers(MeshState s) {
    List<ProcessHandle> alive = new ArrayList<>();
    for (MeshState.PodState p : s.pods()) {
      for (MeshState.ContainerState c : p.containers()) {
        if (c.pid() > 0 && StateStore.alive(c.pid(), c.startMillis())) {
          ProcessHandle.of(c.pid()).ifPresent(alive::add);
        }
      }
    }
    for (ProcessHandle h : alive) {
      h.descendants().forEach(ProcessHandle::destroyForcibly);
      h.destroyForcibly();
    }
    for (ProcessHandle h : alive) {
      try {
        h.onExit().get(5, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // reported by the count
      }
    }
    return alive.size();
  }
}
