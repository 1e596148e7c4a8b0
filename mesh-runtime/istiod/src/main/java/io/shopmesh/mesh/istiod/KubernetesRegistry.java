package io.shopmesh.mesh.istiod;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReference;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.shopmesh.mesh.xds.PodPort;
import io.shopmesh.mesh.xds.WorkloadInstance;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The registry from the Kubernetes API, as istiod's kube controller builds it: Pods (IP, labels,
 * service account, containers' ports, workload) and EndpointSlices (which addresses are ready). A
 * pod is an endpoint only while an EndpointSlice lists it (by {@code targetRef}, or by its IP in
 * its namespace) with {@code conditions.ready} true or unset, as Istio reads slices; a pod that is
 * being deleted or has no IP yet is not in the registry. The Services themselves are config ({@link
 * KubernetesConfigSource}): the translator selects pods by their selectors.
 *
 * <p>A pod runs a sidecar when it carries Istio's {@code security.istio.io/tlsMode: istio} label or
 * an {@code istio-proxy} container, and is not a gateway (a pod with an {@code istio} label, whose
 * {@code istio-proxy} is the workload itself).
 */
public final class KubernetesRegistry implements RegistrySource {

  private static final Logger LOG = Logger.getLogger(KubernetesRegistry.class.getName());

  static final String TLS_MODE_LABEL = "security.istio.io/tlsMode";
  static final String PROXY_CONTAINER = "istio-proxy";

  private final KubernetesClient client;
  private final String namespace;
  private final long resyncMillis;
  private final WorkloadRegistry registry;
  private final Runnable onChange;
  private final long syncWaitMillis;
  private SharedIndexInformer<Pod> pods;
  private SharedIndexInformer<EndpointSlice> slices;
  private volatile boolean started;
  private volatile boolean closed;

  /**
   * @param namespace the namespace to watch, or null for all namespaces
   * @param syncWaitMillis how long {@link #read} waits for the initial lists
   */
  public KubernetesRegistry(
      KubernetesClient client,
      String namespace,
      long resyncMillis,
      long syncWaitMillis,
      WorkloadRegistry registry,
      Runnable onChange) {
    this.client = client;
    this.namespace = namespace;
    this.resyncMillis = resyncMillis;
    this.syncWaitMillis = syncWaitMillis;
    this.registry = registry;
    this.onChange = onChange;
  }

  /** The factory {@link Istiod} takes. */
  public static RegistrySource.Factory factory(
      KubernetesClient client, String namespace, long resyncMillis) {
    return (registry, onChange) ->
        new KubernetesRegistry(client, namespace, resyncMillis, 30_000, registry, onChange);
  }

  private synchronized void open() {
    if (pods != null || closed) {
      return;
    }
    var p = client.pods();
    pods =
        KubernetesConfigSource.inform(
            namespace == null ? p.inAnyNamespace() : p.inNamespace(namespace),
            handler(),
            resyncMillis,
            "pods");
    var s = client.discovery().v1().endpointSlices();
    slices =
        KubernetesConfigSource.inform(
            namespace == null ? s.inAnyNamespace() : s.inNamespace(namespace),
            handler(),
            resyncMillis,
            "endpointslices");
  }

  private <T extends HasMetadata> ResourceEventHandler<T> handler() {
    return new ResourceEventHandler<>() {
      @Override
      public void onAdd(T obj) {
        changed();
      }

      @Override
      public void onUpdate(T before, T after) {
        if (!Objects.equals(
            before.getMetadata().getResourceVersion(), after.getMetadata().getResourceVersion())) {
          changed();
        }
      }

      @Override
      public void onDelete(T obj, boolean finalStateUnknown) {
        changed();
      }
    };
  }

  private void changed() {
    if (started && rebuild()) {
      onChange.run();
    }
  }

  private boolean synced() {
    return pods != null && pods.hasSynced() && slices.hasSynced();
  }

  /** Starts the informers, waits (bounded) for their lists and fills the registry. */
  @Override
  public boolean read() {
    open();
    long deadline = System.currentTimeMillis() + syncWaitMillis;
    while (!synced() && !closed && System.currentTimeMillis() < deadline) {
      try {
        TimeUnit.MILLISECONDS.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return rebuild();
  }

  @Override
  public void start() {
    open();
    started = true;
    // events that arrived before (or the lists, if read() gave up waiting) count now
    if (rebuild()) {
      onChange.run();
    }
    if (!registry.synced()) {
      // the initial lists' events came before the informers reported synced: fill the registry
      // as soon as they do, whether or not another event follows
      Thread t =
          new Thread(
              () -> {
                while (!closed && !synced()) {
                  try {
                    TimeUnit.MILLISECONDS.sleep(100);
                  } catch (InterruptedException e) {
                    return;
                  }
                }
                if (!closed && rebuild()) {
                  onChange.run();
                }
              },
              "kube-registry-sync");
      t.setDaemon(true);
      t.start();
    }
  }

  /** Recomputes the registry from the informers' caches; true when it changed. */
  private synchronized boolean rebuild() {
    if (!synced()) {
      return false;
    }
    List<WorkloadRegistry.Entry> now = entries(pods.getStore().list(), slices.getStore().list());
    boolean first = !registry.synced();
    if (!first && now.equals(registry.entries())) {
      return false;
    }
    registry.replace(now, where());
    if (first) {
      long ready = now.stream().filter(WorkloadRegistry.Entry::ready).count();
      LOG.info(
          "registry synced from " + where() + ": " + now.size() + " pods, " + ready + " ready");
    }
    return true;
  }

  /** The registry's entries: every pod with an IP that is not being deleted, sorted by name. */
  static List<WorkloadRegistry.Entry> entries(List<Pod> pods, List<EndpointSlice> slices) {
    Set<String> readyPods = new HashSet<>();
    Set<String> readyIps = new HashSet<>();
    for (EndpointSlice s : slices) {
      String ns = s.getMetadata().getNamespace();
      if (s.getEndpoints() == null) {
        continue;
      }
      for (Endpoint e : s.getEndpoints()) {
        boolean ready =
            e.getConditions() == null || !Boolean.FALSE.equals(e.getConditions().getReady());
        if (!ready) {
          continue;
        }
        ObjectReference ref = e.getTargetRef();
        if (ref != null && "Pod".equals(ref.getKind())) {
          readyPods.add(
              (ref.getNamespace() == null ? ns : ref.getNamespace()) + "/" + ref.getName());
        } else if (e.getAddresses() != null) {
          e.getAddresses().forEach(a -> readyIps.add(ns + "/" + a));
        }
      }
    }
    List<WorkloadRegistry.Entry> out = new ArrayList<>();
    List<Pod> sorted = new ArrayList<>(pods);
    sorted.sort(
        Comparator.comparing((Pod p) -> p.getMetadata().getNamespace())
            .thenComparing(p -> p.getMetadata().getName()));
    for (Pod p : sorted) {
      String ip = p.getStatus() == null ? null : p.getStatus().getPodIP();
      if (ip == null || ip.isEmpty() || p.getMetadata().getDeletionTimestamp() != null) {
        continue;
      }
      String ns = p.getMetadata().getNamespace();
      String name = p.getMetadata().getName();
      boolean ready = readyPods.contains(ns + "/" + name) || readyIps.contains(ns + "/" + ip);
      String sa = p.getSpec() == null ? null : p.getSpec().getServiceAccountName();
      out.add(new WorkloadRegistry.Entry(workload(p), ready, sa == null ? "default" : sa));
    }
    return out;
  }

  /** The pod as the translator sees it. */
  static WorkloadInstance workload(Pod p) {
    Map<String, String> labels =
        p.getMetadata().getLabels() == null ? Map.of() : p.getMetadata().getLabels();
    List<PodPort> ports = new ArrayList<>();
    boolean proxyContainer = false;
    if (p.getSpec() != null) {
      List<Container> containers = new ArrayList<>(p.getSpec().getContainers());
      if (p.getSpec().getInitContainers() != null) {
        // a native sidecar: an init container that keeps running
        p.getSpec().getInitContainers().stream()
            .filter(c -> "Always".equals(c.getRestartPolicy()))
            .forEach(containers::add);
      }
      for (Container c : containers) {
        if (PROXY_CONTAINER.equals(c.getName())) {
          proxyContainer = true;
          if (!labels.containsKey("istio")) {
            continue; // the sidecar's own ports are not the app's
          }
        }
        if (c.getPorts() != null) {
          for (ContainerPort cp : c.getPorts()) {
            ports.add(
                new PodPort(
                    cp.getName(),
                    cp.getContainerPort(),
                    cp.getProtocol() == null ? "TCP" : cp.getProtocol()));
          }
        }
      }
    }
    boolean sidecar =
        ("istio".equals(labels.get(TLS_MODE_LABEL)) || proxyContainer)
            && !labels.containsKey("istio");
    return new WorkloadInstance(
        p.getMetadata().getName(),
        p.getMetadata().getNamespace(),
        p.getStatus().getPodIP(),
        new LinkedHashMap<>(labels),
        workloadName(p),
        ports,
        sidecar);
  }

  /**
   * The workload a pod belongs to, as Istio names it: its controller, with a ReplicaSet's
   * pod-template hash cut off to give the Deployment; the pod's own name without a controller.
   */
  static String workloadName(Pod p) {
    List<OwnerReference> owners = p.getMetadata().getOwnerReferences();
    if (owners == null) {
      return p.getMetadata().getName();
    }
    for (OwnerReference o : owners) {
      if (!Boolean.TRUE.equals(o.getController())) {
        continue;
      }
      String name = o.getName();
      if ("ReplicaSet".equals(o.getKind())) {
        String hash =
            p.getMetadata().getLabels() == null
                ? null
                : p.getMetadata().getLabels().get("pod-template-hash");
        if (hash != null && name.endsWith("-" + hash)) {
          return name.substring(0, name.length() - hash.length() - 1);
        }
      }
      return name;
    }
    return p.getMetadata().getName();
  }

  @Override
  public String where() {
    return "the Kubernetes API ("
        + (namespace == null ? "all namespaces" : "namespace " + namespace)
        + ": Pods, EndpointSlices)";
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (pods != null) {
      pods.close();
      slices.close();
    }
  }
}
