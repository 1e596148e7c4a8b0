package io.shopmesh.mesh.meshctl.local;

import io.shopmesh.mesh.meshctl.local.MeshState.ContainerState;
import io.shopmesh.mesh.meshctl.local.MeshState.PodState;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BiPredicate;

/** Live health of a running mesh: processes, proxy readiness, app ports, xDS sync from istiod. */
public final class Probes {

  /** What we know about one pod right now. */
  public record PodHealth(
      int running,
      int total,
      boolean proxyReady,
      boolean appListening,
      SyncStatus.Proxy sync,
      ControlPlane controlPlane) {

    public PodHealth(
        int running, int total, boolean proxyReady, boolean appListening, SyncStatus.Proxy sync) {
      this(running, total, proxyReady, appListening, sync, ControlPlane.UNKNOWN);
    }

    /**
     * Ready and serving its last config while it has no connection to istiod: not the same as not
     * ready, and not a reason to take it out of service.
     */
    public boolean servingWithoutControlPlane() {
      return running == total
          && appListening
          && proxyReady
          && (sync == null || controlPlane == ControlPlane.DISCONNECTED);
    }

    public boolean ready(boolean hasProxy) {
      return running == total
          && appListening
          && (!hasProxy || (proxyReady && sync != null && sync.synced()));
    }
  }

  /**
   * The proxy's own view of its xDS connection: Envoy's {@code control_plane.connected_state} stat
   * (1 connected, 0 not) on the admin port; UNKNOWN when the proxy does not report it.
   */
  public enum ControlPlane {
    CONNECTED,
    DISCONNECTED,
    UNKNOWN
  }

  public record Snapshot(
      boolean istiodReady, Map<String, PodHealth> pods, String syncError, List<String> config) {

    public Snapshot(boolean istiodReady, Map<String, PodHealth> pods, String syncError) {
      this(istiodReady, pods, syncError, List.of());
    }

    public boolean allReady(MeshState state) {
      return istiodReady
          && state.pods().stream()
              .allMatch(
                  p -> {
                    PodHealth h = pods.get(p.name());
                    return h != null && h.ready(p.hasProxy());
                  });
    }

    public long count(MeshState state, BiPredicate<PodState, PodHealth> test) {
      return state.pods().stream()
          .filter(p -> pods.containsKey(p.name()) && test.test(p, pods.get(p.name())))
          .count();
    }
  }

  private Probes() {}

  public static Snapshot probe(MeshState state) {
    String base = state.istiodHttpUrl();
    boolean istiodReady = Http.probe(base + "/ready");
    Map<String, SyncStatus.Proxy> sync = Map.of();
    String syncError = null;
    List<String> config = List.of();
    if (istiodReady) {
      config = ConfigHealth.lastGood(base);
      try {
        Http.Response r = Http.get(base + "/debug/syncz", Duration.ofSeconds(3));
        if (r.ok()) {
          sync = SyncStatus.parse(r.body());
        } else {
          syncError = "istiod /debug/syncz answered " + r.status();
        }
      } catch (Exception e) {
        syncError = "istiod /debug/syncz: " + e.getMessage();
      }
    }
    Map<String, SyncStatus.Proxy> syncFinal = sync;
    ExecutorService pool =
        Executors.newFixedThreadPool(
            8,
            r -> {
              Thread t = new Thread(r, "probe");
              t.setDaemon(true);
              return t;
            });
    try {
      Map<String, CompletableFuture<PodHealth>> futures = new LinkedHashMap<>();
      for (PodState p : state.pods()) {
        futures.put(
            p.name(),
            CompletableFuture.supplyAsync(() -> probePod(p, syncFinal.get(p.name())), pool));
      }
      Map<String, PodHealth> out = new LinkedHashMap<>();
      futures.forEach((k, f) -> out.put(k, f.join()));
      return new Snapshot(istiodReady, out, syncError, config);
    } finally {
      pool.shutdownNow();
    }
  }

  static PodHealth probePod(PodState p, SyncStatus.Proxy sync) {
    List<ContainerState> cs = p.containers();
    int running = (int) cs.stream().filter(c -> StateStore.alive(c.pid(), c.startMillis())).count();
    boolean proxyReady = p.hasProxy() && Http.probe("http://" + p.ip() + ":15021/healthz/ready");
    boolean listening = true;
    for (String port : p.ports()) {
      String host = p.ip();
      int local = localPort(port);
      if (port.contains("->") && port.substring(port.indexOf("->") + 2).contains(":")) {
        // the gateway's published listener, e.g. 8080->127.0.0.1:8080
        String published = port.substring(port.indexOf("->") + 2);
        host = published.substring(0, published.lastIndexOf(':'));
        local = Integer.parseInt(published.substring(published.lastIndexOf(':') + 1));
      }
      if (local > 0 && !Http.listening(host, local)) {
        listening = false;
        break;
      }
    }
    ControlPlane cp = p.hasProxy() ? controlPlane(p.ip()) : ControlPlane.UNKNOWN;
    return new PodHealth(running, cs.size(), proxyReady, listening, sync, cp);
  }

  /** Reads {@code control_plane.connected_state} from the proxy's admin {@code /stats}. */
  static ControlPlane controlPlane(String ip) {
    try {
      Http.Response r = Http.get("http://" + ip + ":15000/stats", Duration.ofSeconds(2));
      if (!r.ok()) {
        return ControlPlane.UNKNOWN;
      }
      return parseControlPlane(r.body());
    } catch (Exception e) {
      return ControlPlane.UNKNOWN;
    }
  }

  static ControlPlane parseControlPlane(String stats) {
    for (String line : stats.split("\n")) {
      String l = line.trim();
      if (l.startsWith("control_plane.connected_state:")) {
        return l.endsWith(" 1") || l.endsWith(":1")
            ? ControlPlane.CONNECTED
            : ControlPlane.DISCONNECTED;
      }
    }
    return ControlPlane.UNKNOWN;
  }

  /** "80->10080" -> 10080, "8080" -> 8080; the gateway's published "8080->127.0.0.1:8080" -> 0. */
  static int localPort(String mapping) {
    String local = mapping.contains("->") ? mapping.substring(mapping.indexOf("->") + 2) : mapping;
    if (local.contains(":")) {
      return 0;
    }
    try {
      return Integer.parseInt(local.trim());
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
