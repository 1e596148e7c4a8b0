package io.shopmesh.mesh.meshctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.shopmesh.mesh.meshctl.kube.KubeMesh;
import io.shopmesh.mesh.meshctl.kube.KubeOptions;
import io.shopmesh.mesh.meshctl.local.MeshState;
import io.shopmesh.mesh.meshctl.local.Probes;
import io.shopmesh.mesh.meshctl.local.Views;
import io.shopmesh.mesh.meshctl.render.Table;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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

  @Mixin KubeOptions kube;

  private static final ObjectMapper JSON = new ObjectMapper();

  @Override
  public Integer call() {
    if (kube.kube) {
      try (KubeMesh km = kube.connect()) {
        return clusterStatus(km);
      }
    }
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

  /**
   * The mesh's pods on a cluster with istiod's view of each proxy (its /debug/syncz through the API
   * server): READY, RESTARTS and the CDS/LDS/EDS/RDS columns of istioctl proxy-status.
   */
  static int clusterStatus(KubeMesh km) {
    Map<String, JsonNode> sync = new HashMap<>();
    String syncError = null;
    try {
      for (JsonNode p : JSON.readTree(km.istiodGet("/debug/syncz"))) {
        sync.put(p.path("pod").asText() + "." + p.path("namespace").asText(), p);
      }
    } catch (IOException | MeshctlException e) {
      syncError = e.getMessage();
    }
    Table t =
        new Table(
            "NAME",
            "NAMESPACE",
            "WORKLOAD",
            "VERSION",
            "READY",
            "RESTARTS",
            "IP",
            "CDS",
            "LDS",
            "EDS",
            "RDS");
    boolean ok = syncError == null;
    for (KubeMesh.MeshPod p : km.pods()) {
      JsonNode s = sync.get(p.name() + "." + p.namespace());
      List<String> states = new ArrayList<>();
      for (String type : List.of("CDS", "LDS", "EDS", "RDS")) {
        String st = s == null ? "NOT CONNECTED" : s.path(type).path("status").asText("-");
        ok &= st.equals("SYNCED");
        states.add(st);
      }
      ok &= p.ready();
      t.row(
          p.name(),
          p.namespace(),
          p.workload(),
          p.version() == null ? "-" : p.version(),
          p.ready() ? "true" : "false",
          p.restarts(),
          p.ip() == null ? "-" : p.ip(),
          states.get(0),
          states.get(1),
          states.get(2),
          states.get(3));
    }
    if (syncError != null) {
      System.out.println("istiod: " + syncError);
    }
    System.out.print(t.render());
    return ok ? 0 : 3;
  }
}
