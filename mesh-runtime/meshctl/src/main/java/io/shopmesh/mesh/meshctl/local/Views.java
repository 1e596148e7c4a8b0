package io.shopmesh.mesh.meshctl.local;

import io.shopmesh.mesh.meshctl.local.MeshState.PodState;
import io.shopmesh.mesh.meshctl.local.Probes.PodHealth;
import io.shopmesh.mesh.meshctl.render.Table;
import java.util.Locale;

/**
 * The tables and hints that {@code up} and {@code status} print. Pure: state and probes in, text
 * out.
 */
public final class Views {

  private Views() {}

  /** After {@code up}: one row per pod with what a person needs to reach it. */
  public static String upTable(MeshState state, Probes.Snapshot s) {
    Table t = new Table("NAMESPACE", "NAME", "VERSION", "IP", "PORTS", "READY", "SYNCED");
    for (PodState p : state.pods()) {
      PodHealth h = s.pods().get(p.name());
      t.row(
          p.namespace(),
          p.name(),
          p.version(),
          p.ip(),
          String.join(",", p.ports()),
          ready(p, h),
          synced(p, h));
    }
    return t.render();
  }

  /** {@code status}: kubectl get pods and istioctl proxy-status in one table. */
  public static String statusTable(MeshState state, Probes.Snapshot s) {
    Table t =
        new Table(
            "NAMESPACE",
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "VERSION",
            "IP",
            "PORTS",
            "CDS",
            "LDS",
            "EDS",
            "RDS");
    for (PodState p : state.pods()) {
      PodHealth h = s.pods().get(p.name());
      int restarts = p.containers().stream().mapToInt(MeshState.ContainerState::restarts).sum();
      t.row(
          p.namespace(),
          p.name(),
          ready(p, h),
          status(p, h),
          restarts,
          p.version(),
          p.ip(),
          String.join(",", p.ports()),
          xds(p, h, "CDS"),
          xds(p, h, "LDS"),
          xds(p, h, "EDS"),
          xds(p, h, "RDS"));
    }
    return t.render();
  }

  static String ready(PodState p, PodHealth h) {
    if (h == null) {
      return "0/" + p.containers().size();
    }
    int n = 0;
    for (MeshState.ContainerState c : p.containers()) {
      boolean alive = StateStore.alive(c.pid(), c.startMillis());
      boolean isProxy = Planner.PROXY_CONTAINER.equals(c.name());
      if (alive && (isProxy ? h.proxyReady() : h.appListening())) {
        n++;
      }
    }
    return n + "/" + p.containers().size();
  }

  static String status(PodState p, PodHealth h) {
    if (h == null) {
      return "Unknown";
    }
    if (h.running() < h.total()) {
      return p.containers().stream().anyMatch(c -> c.exitCode() != null) ? "Error" : "Terminated";
    }
    if (h.ready(p.hasProxy())) {
      return "Running";
    }
    // Envoy keeps serving its last config when istiod is gone: the pod is in service
    return p.hasProxy() && h.servingWithoutControlPlane()
        ? "Running (control plane unreachable)"
        : "NotReady";
  }

  static String synced(PodState p, PodHealth h) {
    if (!p.hasProxy()) {
      return "-";
    }
    return h != null && h.sync() != null && h.sync().synced() ? "yes" : "no";
  }

  static String xds(PodState p, PodHealth h, String type) {
    if (!p.hasProxy()) {
      return "-";
    }
    if (h == null || h.sync() == null) {
      return h != null && h.servingWithoutControlPlane() ? "LAST CONFIG" : "NOT CONNECTED";
    }
    return h.sync().type(type);
  }

  /** What to try next, the walkthrough's commands adapted to this machine. */
  public static String nextSteps(MeshState state) {
    String gw = state.gatewayUrl();
    String frontend =
        state.pods().stream()
            .filter(p -> "frontend".equals(p.workload()))
            .map(PodState::name)
            .findFirst()
            .orElse("<frontend-pod>");
    return String.join(
            "\n",
            "Try (the walkthrough's steps, on this machine: http, "
                + gw.substring("http://".length())
                + ", Host header):",
            "  curl -H 'Host: shop.example.com' " + gw + "/",
            "  curl -s -H 'Host: shop.example.com' " + gw + "/products",
            "  for i in {1..100}; do curl -s -o /dev/null -H 'Host: shop.example.com' "
                + gw
                + "/products; done",
            "  ./meshctl metrics 'istio_requests_total{destination_service=\"product-service.default.svc.cluster.local\"}'"
                + " --by destination_version",
            "  ./meshctl proxy-config routes " + frontend + " --name 8080 -o json",
            "  ./meshctl apply -f manifests/variants/product-virtualservice-50-50.yaml",
            "  ./meshctl status",
            "  ./meshctl logs " + frontend + " -c istio-proxy",
            "  ./meshctl down",
            "Walkthrough: docs/walkthrough.md")
        + "\n";
  }

  public static String seconds(long millis) {
    return String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
  }
}
