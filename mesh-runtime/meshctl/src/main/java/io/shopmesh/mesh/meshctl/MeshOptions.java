package io.shopmesh.mesh.meshctl;

import io.shopmesh.mesh.meshctl.local.MeshHome;
import io.shopmesh.mesh.meshctl.local.MeshState;
import io.shopmesh.mesh.meshctl.local.StateStore;
import java.util.Optional;
import picocli.CommandLine.Option;

/** Options every command that talks to a running local mesh shares. */
public class MeshOptions {

  @Option(
      names = "--state-dir",
      paramLabel = "DIR",
      description =
          "Runtime state of the local mesh (default: .mesh/ in the repository, or $MESH_STATE_DIR).")
  String stateDir;

  public StateStore store() {
    return new StateStore(MeshHome.stateDir(stateDir));
  }

  /** The running mesh's state, or a clear message when none runs. */
  public MeshState requireRunning() {
    StateStore store = store();
    Optional<MeshState> st = store.read();
    if (st.isEmpty()) {
      throw new MeshctlException(
          "no mesh is running here (" + store.file() + " not found); start one with ./meshctl up");
    }
    if (!StateStore.alive(st.get().supervisorPid(), st.get().supervisorStartMillis())) {
      throw new MeshctlException(
          "the mesh's supervisor (pid "
              + st.get().supervisorPid()
              + ") is gone; ./meshctl down cleans up what is left");
    }
    return st.get();
  }

  public MeshState.PodState requirePod(MeshState state, String name) {
    return state
        .pod(name)
        .or(
            () -> {
              // like kubectl: a unique prefix (or pod.namespace) is enough
              String n = name.contains(".") ? name.substring(0, name.lastIndexOf('.')) : name;
              var matches =
                  state.pods().stream()
                      .filter(p -> p.name().equals(n) || p.name().startsWith(n))
                      .toList();
              return matches.size() == 1 ? Optional.of(matches.get(0)) : Optional.empty();
            })
        .orElseThrow(
            () ->
                new MeshctlException(
                    "pod '"
                        + name
                        + "' not found; pods: "
                        + String.join(
                            ", ", state.pods().stream().map(MeshState.PodState::name).toList())));
  }
}
