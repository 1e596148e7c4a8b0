package io.shopmesh.mesh.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Istio's exportTo: the namespaces a VirtualService, DestinationRule, ServiceEntry or Service
 * ({@code networking.istio.io/exportTo} annotation) is visible in. {@code .} is the resource's own
 * namespace, {@code *} (or no exportTo) every namespace.
 */
public final class ExportTo {

  public static final String ALL = "*";
  public static final String SAME = ".";

  private ExportTo() {}

  /** The namespaces as written, {@code .} resolved, in order and without repeats. */
  public static Set<String> namespaces(List<String> exportTo, String ownNamespace) {
    Set<String> out = new LinkedHashSet<>();
    for (String ns : exportTo) {
      out.add(SAME.equals(ns) ? ownNamespace : ns);
    }
    return out;
  }

  /** The visibility scopes, sorted: just {@code *} when exported everywhere. */
  public static Set<String> scopes(List<String> exportTo, String ownNamespace) {
    Set<String> out = new TreeSet<>();
    if (exportTo.isEmpty() || exportTo.contains(ALL)) {
      out.add(ALL);
      return out;
    }
    out.addAll(namespaces(exportTo, ownNamespace));
    return out;
  }

  /** A JSON exportTo list ({@code spec.exportTo}); missing is empty. */
  public static List<String> of(JsonNode exportTo) {
    List<String> out = new ArrayList<>();
    for (JsonNode n : exportTo) {
      out.add(n.asText());
    }
    return out;
  }

  /**
   * The {@code networking.istio.io/exportTo} annotation of a Kubernetes Service, comma-separated.
   */
  public static List<String> ofAnnotation(String annotation) {
    List<String> out = new ArrayList<>();
    if (annotation == null) {
      return out;
    }
    for (String ns : annotation.split(",")) {
      if (!ns.isBlank()) {
        out.add(ns.trim());
      }
    }
    return out;
  }
}
