package io.shopmesh.mesh.meshctl;

import io.shopmesh.mesh.meshctl.local.MeshState;
import io.shopmesh.mesh.meshctl.local.Probes;
import io.shopmesh.mesh.meshctl.local.Views;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code meshctl status}: pods, readiness and xDS sync, like kubectl get pods plus istioctl
 * proxy-status.
 */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    description = {
      "Shows every pod of the running mesh: readiness, restarts, version, address and ports (with the",
      "local mapping of low ports, e.g. 80->10080), and each proxy's xDS sync state as istioctl proxy-status does."
    })
public final class StatusCommand implements Callable<Integer> {

  @Mixin MeshOptions mesh;

  @Override
  public Integer call() {
    MeshState st = mesh.requireRunning();
    Probes.Snapshot s = Probes.probe(st);
    System.out.println(
        "mesh: "
            + st.phase().name().toLowerCase()
            + ", config "
            + st.configDir()
            + ", istiod "
            + st.istiodAddress()
            + ":"
            + st.xdsPort()
            + " (xDS) "
            + st.istiodAddress()
            + ":"
            + st.istiodHttpPort()
            + " (HTTP), gateway "
            + st.gatewayUrl()
            + (st.readyAtMillis() > 0
                ? ", ready in " + Views.seconds(st.readyAtMillis() - st.startedAtMillis())
                : ""));
    if (!s.istiodReady()) {
      System.out.println(
          "istiod: unreachable; proxies that have config keep serving it (their status says"
              + " \"control plane unreachable\")");
    }
    if (s.syncError() != null) {
      System.out.println("istiod: " + s.syncError());
    }
    if (!s.config().isEmpty()) {
      System.out.println("config: not everything in " + st.configDir() + " is served as written:");
      s.config().forEach(l -> System.out.println("  " + l));
    }
    System.out.println();
    System.out.print(Views.statusTable(st, s));
    return s.allReady(st) ? 0 : 3;
  }
}
