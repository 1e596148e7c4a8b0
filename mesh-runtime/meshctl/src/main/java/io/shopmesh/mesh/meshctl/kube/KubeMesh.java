package io.shopmesh.mesh.meshctl.kube;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import io.fabric8.kubernetes.client.dsl.PodResource;
import io.shopmesh.mesh.meshctl.MeshctlException;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The mesh on a Kubernetes cluster, as meshctl's commands see it with {@code --kube}: the pods that
 * carry a proxy, and their admin (15000) and stats (15090) ports and istiod's debug port (15014)
 * reached through the API server's proxy, so the current kubeconfig context is all it needs (as
 * istioctl, which port-forwards).
 */
public final class KubeMesh implements AutoCloseable {

  public static final String PROXY = "istio-proxy";
  static final String ISTIOD_DEBUG = "/api/v1/namespaces/istio-system/services/istiod:15014/proxy";

  /** A pod as the commands show it. */
  public record MeshPod(
      String name,
      String namespace,
      String workload,
      String version,
      boolean hasProxy,
      boolean ready,
      int restarts,
      String ip,
      List<String> containers) {

    /** The app's container (the first that is not the sidecar), as kubectl's default-container. */
    public String defaultContainer() {
      return containers.stream()
          .filter(c -> !c.equals(PROXY))
          .findFirst()
          .orElse(containers.get(0));
    }
  }

  private final KubernetesClient client;

  public KubeMesh(KubernetesClient client) {
    this.client = client;
  }

  /** The kubeconfig's current context, or {@code context} when given (in-cluster config too). */
  public static KubeMesh connect(String context) {
    Config config = context == null ? Config.autoConfigure(null) : Config.autoConfigure(context);
    return new KubeMesh(new KubernetesClientBuilder().withConfig(config).build());
  }

  /** Every pod with a sidecar, and the gateways (pods labelled {@code istio}). */
  public List<MeshPod> pods() {
    List<MeshPod> out = new ArrayList<>();
    for (Pod p : call(() -> client.pods().inAnyNamespace().list().getItems())) {
      MeshPod m = toMeshPod(p);
      if (m.hasProxy()) {
        out.add(m);
      }
    }
    out.sort((a, b) -> (a.namespace() + "/" + a.name()).compareTo(b.namespace() + "/" + b.name()));
    return out;
  }

  /** A pod by name, {@code name.namespace}, or a unique prefix (like kubectl and istioctl). */
  public MeshPod pod(String name) {
    List<MeshPod> pods = pods();
    String ns = null;
    String n = name;
    if (name.contains(".")) {
      ns = name.substring(name.lastIndexOf('.') + 1);
      n = name.substring(0, name.lastIndexOf('.'));
    }
    String want = n;
    String wantNs = ns;
    List<MeshPod> exact =
        pods.stream()
            .filter(p -> p.name().equals(want) && (wantNs == null || p.namespace().equals(wantNs)))
            .toList();
    if (exact.size() == 1) {
      return exact.get(0);
    }
    List<MeshPod> prefix =
        pods.stream()
            .filter(
                p -> p.name().startsWith(want) && (wantNs == null || p.namespace().equals(wantNs)))
            .toList();
    if (prefix.size() == 1) {
      return prefix.get(0);
    }
    throw new MeshctlException(
        "pod '"
            + name
            + "' "
            + (prefix.isEmpty() ? "not found" : "is ambiguous")
            + " among the mesh's pods: "
            + String.join(", ", pods.stream().map(p -> p.name() + "." + p.namespace()).toList()));
  }

  /** GET a path on one of the pod's ports through the API server. */
  public String podGet(MeshPod p, int port, String path) {
    return raw(
        "/api/v1/namespaces/" + p.namespace() + "/pods/" + p.name() + ":" + port + "/proxy" + path);
  }

  /** GET a path of istiod's debug port (its Service in istio-system) through the API server. */
  public String istiodGet(String path) {
    return raw(ISTIOD_DEBUG + path);
  }

  private String raw(String uri) {
    String body = call(() -> client.raw(uri));
    if (body == null) {
      throw new MeshctlException("the API server answered nothing for " + uri);
    }
    return body;
  }

  public String log(MeshPod p, String container, int tail) {
    PodResource pod = client.pods().inNamespace(p.namespace()).withName(p.name());
    var c = pod.inContainer(container);
    return call(() -> tail >= 0 ? c.tailingLines(tail).getLog() : c.getLog());
  }

  /**
   * Creates or updates every object of the YAML in {@code namespace} (unless it names its own), as
   * {@code kubectl apply}: the API server's schema check and the validating webhook decide, and
   * their message is the error. Returns one {@code kind/name} line per object.
   */
  public List<String> apply(String yaml, String namespace) {
    List<HasMetadata> objs =
        call(
            () ->
                client
                    .load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)))
                    .items());
    List<String> out = new ArrayList<>();
    for (HasMetadata o : objs) {
      String ns =
          o.getMetadata().getNamespace() != null ? o.getMetadata().getNamespace() : namespace;
      boolean existed = call(() -> client.resource(o).inNamespace(ns).get()) != null;
      call(() -> client.resource(o).inNamespace(ns).createOr(NonDeletingOperation::update));
      out.add(
          o.getKind().toLowerCase()
              + "."
              + o.getApiVersion().replaceAll("/.*", "")
              + "/"
              + o.getMetadata().getName()
              + (existed ? " configured" : " created"));
    }
    return out;
  }

  private static MeshPod toMeshPod(Pod p) {
    Map<String, String> labels =
        p.getMetadata().getLabels() == null ? Map.of() : p.getMetadata().getLabels();
    List<String> containers =
        p.getSpec() == null
            ? List.of()
            : p.getSpec().getContainers().stream().map(c -> c.getName()).toList();
    boolean proxy = containers.contains(PROXY);
    boolean ready = false;
    int restarts = 0;
    String ip = null;
    if (p.getStatus() != null) {
      ip = p.getStatus().getPodIP();
      if (p.getStatus().getConditions() != null) {
        for (PodCondition c : p.getStatus().getConditions()) {
          ready |= "Ready".equals(c.getType()) && "True".equals(c.getStatus());
        }
      }
      if (p.getStatus().getContainerStatuses() != null) {
        for (ContainerStatus s : p.getStatus().getContainerStatuses()) {
          restarts += s.getRestartCount() == null ? 0 : s.getRestartCount();
        }
      }
    }
    return new MeshPod(
        p.getMetadata().getName(),
        p.getMetadata().getNamespace(),
        workload(p),
        labels.get("version"),
        proxy,
        ready,
        restarts,
        ip,
        containers);
  }

  /** The Deployment behind a pod: its ReplicaSet owner without the pod-template-hash suffix. */
  static String workload(Pod p) {
    String hash =
        p.getMetadata().getLabels() == null
            ? null
            : p.getMetadata().getLabels().get("pod-template-hash");
    List<OwnerReference> owners = p.getMetadata().getOwnerReferences();
    if (owners != null && !owners.isEmpty()) {
      String owner = owners.get(0).getName();
      return hash != null && owner.endsWith("-" + hash)
          ? owner.substring(0, owner.length() - hash.length() - 1)
          : owner;
    }
    return p.getMetadata().getName();
  }

  private interface ApiCall<T> {
    T run();
  }

  private static <T> T call(ApiCall<T> c) {
    try {
      return c.run();
    } catch (KubernetesClientException e) {
      String msg =
          e.getStatus() != null && e.getStatus().getMessage() != null
              ? e.getStatus().getMessage()
              : e.getMessage();
      throw new MeshctlException("Kubernetes API: " + msg);
    }
  }

  @Override
  public void close() {
    client.close();
  }
}
