package io.shopmesh.mesh.config;

import io.fabric8.kubernetes.api.model.HasMetadata;

/** A parsed Kubernetes or Istio object together with the file and line it was read from. */
public record Located<T extends HasMetadata>(T object, SourceRef source) {

  public String kind() {
    return object.getKind();
  }

  public String name() {
    return object.getMetadata().getName();
  }

  /** The object's namespace, {@code default} when the YAML leaves it out (as kubectl does). */
  public String namespace() {
    String ns = object.getMetadata().getNamespace();
    return ns == null || ns.isEmpty() ? MeshConfig.DEFAULT_NAMESPACE : ns;
  }
}
