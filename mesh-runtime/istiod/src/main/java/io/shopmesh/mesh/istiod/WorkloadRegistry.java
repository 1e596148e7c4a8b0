package io.shopmesh.mesh.istiod;

import io.shopmesh.mesh.xds.ServiceRegistry;
import io.shopmesh.mesh.xds.WorkloadInstance;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The pods that endpoints are built from. With a source of truth (the pods {@code meshctl up}
 * planned, read by {@link RegistryFile}) the registry is that list, and only its ready pods are
 * endpoints, as Istio builds EDS from ready EndpointSlice addresses; what a connecting proxy says
 * about itself is then ignored. Without one (istiod started with no {@code --registry-file}), the
 * pods that connected proxies announce in their node metadata are the registry: the fallback, which
 * cannot tell a pod that is down from one whose proxy has not reconnected yet.
 */
public final class WorkloadRegistry {

  /**
   * A planned pod and whether it is ready (its containers up, its app listening); its service
   * account when the source knows it (the Kubernetes API), else null.
   */
  public record Entry(WorkloadInstance workload, boolean ready, String serviceAccount) {

    public Entry(WorkloadInstance workload, boolean ready) {
      this(workload, ready, null);
    }
  }

  private final Map<String, WorkloadInstance> byProxy = new ConcurrentHashMap<>();
  private final boolean planned;
  private volatile List<Entry> entries;
  private volatile String source;

  private WorkloadRegistry(boolean planned, String source) {
    this.planned = planned;
    this.source = source;
  }

  /** The fallback: pods announced by the proxies that are connected. */
  public WorkloadRegistry() {
    this(false, "proxy metadata (no registry source; pods whose proxy is connected)");
  }

  /** A registry fed from a source of truth; not synced until {@link #replace} first runs. */
  public static WorkloadRegistry planned(String source) {
    return new WorkloadRegistry(true, source);
  }

  public boolean fromSource() {
    return planned;
  }

  /** Istio's "caches synced": xDS is served only once this is true. */
  public boolean synced() {
    return !planned || entries != null;
  }

  public String source() {
    return source;
  }

  /** The whole planned list, as the source of truth now has it. */
  public void replace(List<Entry> now, String source) {
    this.entries = List.copyOf(now);
    this.source = source;
  }

  /** A proxy connected and announced its pod: counts only in the fallback. */
  public void add(String proxyId, WorkloadInstance w) {
    if (!planned) {
      byProxy.put(proxyId, w);
    }
  }

  public void remove(String proxyId) {
    byProxy.remove(proxyId);
  }

  /** Every known pod with its readiness (registryz). */
  public List<Entry> entries() {
    if (planned) {
      List<Entry> e = entries;
      return e == null ? List.of() : e;
    }
    List<Entry> out = new ArrayList<>();
    byProxy.values().forEach(w -> out.add(new Entry(w, true)));
    return out;
  }

  /** The endpoints' pods: the ready ones. */
  public ServiceRegistry snapshot() {
    List<WorkloadInstance> out = new ArrayList<>();
    for (Entry e : entries()) {
      if (e.ready()) {
        out.add(e.workload());
      }
    }
    return new ServiceRegistry(out);
  }
}
