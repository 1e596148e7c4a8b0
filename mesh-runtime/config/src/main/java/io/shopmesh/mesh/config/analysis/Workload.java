package io.shopmesh.mesh.config.analysis;

import io.shopmesh.mesh.config.Resource;
import java.util.Map;

/**
 * A pod, or the pods a Deployment with replicas runs (they share the template's labels), or the
 * mesh's built-in ingress gateway pod: what selectors and subsets are matched against.
 */
public record Workload(String namespace, String name, Map<String, String> labels, Resource source) {

  /** Kubernetes equality-based selector semantics: every selector label present with that value. */
  public boolean matches(Map<String, String> selector) {
    for (Map.Entry<String, String> e : selector.entrySet()) {
      if (!e.getValue().equals(labels.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }
}
