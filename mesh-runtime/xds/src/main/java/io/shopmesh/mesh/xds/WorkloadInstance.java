package io.shopmesh.mesh.xds;

import io.shopmesh.mesh.wire.IstioMetadata;
import java.util.List;
import java.util.Map;

/**
 * One pod known to the registry: what a connecting proxy announces in its node metadata (or what a
 * test derives from a Deployment). {@code sidecar} is true when traffic to it goes through an Istio
 * proxy, which Istio marks on the endpoint with {@code tlsMode: istio}.
 */
public record WorkloadInstance(
    String podName,
    String namespace,
    String ip,
    Map<String, String> labels,
    String workloadName,
    List<PodPort> ports,
    boolean sidecar) {

  public WorkloadInstance {
    labels = Map.copyOf(labels);
    ports = List.copyOf(ports);
  }

  /**
   * Istio's canonical service: the {@code service.istio.io/canonical-name} or {@code app} label.
   */
  public String canonicalService() {
    String v = labels.get(IstioMetadata.CANONICAL_NAME_LABEL);
    if (v == null) {
      v = labels.get("app.kubernetes.io/name");
    }
    if (v == null) {
      v = labels.get("app");
    }
    return v == null ? workloadName : v;
  }

  /** Istio's canonical revision: {@code version} label, else {@code latest}. */
  public String canonicalRevision() {
    String v = labels.get(IstioMetadata.CANONICAL_REVISION_LABEL);
    if (v == null) {
      v = labels.get("app.kubernetes.io/version");
    }
    if (v == null) {
      v = labels.get("version");
    }
    return v == null ? "latest" : v;
  }

  /** Resolves a named target port against the pod's container ports; -1 if absent. */
  public int portByName(String name) {
    for (PodPort p : ports) {
      if (name.equals(p.name())) {
        return p.containerPort();
      }
    }
    return -1;
  }
}
