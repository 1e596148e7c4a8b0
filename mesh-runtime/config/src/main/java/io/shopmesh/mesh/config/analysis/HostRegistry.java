package io.shopmesh.mesh.config.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.config.ExportTo;
import io.shopmesh.mesh.config.Hosts;
import io.shopmesh.mesh.config.MeshConfig;
import io.shopmesh.mesh.config.Resource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The hosts the mesh knows, with the namespaces that can see them: ServiceEntry hosts (as written,
 * scoped by exportTo) and Kubernetes Services ({@code name.namespace.svc.cluster.local}, scoped by
 * the networking.istio.io/exportTo annotation), as Istio's analyzers look them up.
 */
final class HostRegistry {

  /** A known host: its ports and, for a ServiceEntry, the entry itself. */
  record Entry(
      List<Port> ports,
      Resource serviceEntry,
      Resource service,
      Map<String, String> workloadSelector) {}

  record Port(long number, String name, String protocol) {}

  private final Map<String, Entry> scoped = new LinkedHashMap<>();

  HostRegistry(AnalysisContext ctx) {
    for (Resource se : ctx.istio("ServiceEntry")) {
      JsonNode spec = se.spec();
      List<Port> ports = new ArrayList<>();
      for (JsonNode p : spec.path("ports")) {
        ports.add(
            new Port(
                p.path("number").asLong(),
                p.path("name").asText(""),
                p.path("protocol").asText("")));
      }
      Entry e =
          new Entry(
              ports,
              se,
              null,
              AnalysisContext.labels(spec.path("workloadSelector").path("labels")));
      Set<String> scopes = ExportTo.scopes(ExportTo.of(spec.path("exportTo")), se.namespace());
      for (JsonNode h : spec.path("hosts")) {
        String fqdn = Hosts.fqdn(h.asText(), se.namespace());
        for (String scope : scopes) {
          scoped.put(scope + "/" + fqdn, e);
        }
      }
    }
    for (Resource svc : ctx.services()) {
      List<Port> ports = new ArrayList<>();
      for (JsonNode p : svc.spec().path("ports")) {
        ports.add(
            new Port(
                p.path("port").asLong(),
                p.path("name").asText(""),
                p.path("protocol").asText("TCP")));
      }
      Entry e = new Entry(ports, null, svc, Map.of());
      String fqdn = Hosts.fqdn(svc.name(), svc.namespace());
      String anno =
          svc.object()
              .path("metadata")
              .path("annotations")
              .path("networking.istio.io/exportTo")
              .asText("");
      for (String scope : ExportTo.scopes(ExportTo.ofAnnotation(anno), svc.namespace())) {
        scoped.put(scope + "/" + fqdn, e);
      }
    }
  }

  /**
   * Istio's GetDestinationHost: the entry a host seen from {@code sourceNs} resolves to, or null.
   */
  Entry lookup(String sourceNs, JsonNode exportTo, String host) {
    String fqdn = Hosts.fqdn(host, sourceNs);
    Entry e = scoped.get("*/" + fqdn);
    if (e != null) {
      return e;
    }
    // where the referring resource is visible: its own namespace unless exportTo says otherwise
    List<String> visibleIn = exportTo == null ? List.of() : ExportTo.of(exportTo);
    for (String scope :
        visibleIn.isEmpty() ? Set.of(sourceNs) : ExportTo.namespaces(visibleIn, sourceNs)) {
      e = scoped.get(scope + "/" + fqdn);
      if (e != null) {
        return e;
      }
    }
    for (Map.Entry<String, Entry> s : scoped.entrySet()) {
      int slash = s.getKey().indexOf('/');
      String scope = s.getKey().substring(0, slash);
      String seHost = s.getKey().substring(slash + 1);
      if (!seHost.startsWith("*") || !(scope.equals("*") || scope.equals(sourceNs))) {
        continue;
      }
      String h = host.startsWith("*") ? host.substring(1) : host;
      if (h.endsWith(seHost.substring(1))) {
        return s.getValue();
      }
    }
    return null;
  }

  /** Istio's GetResourceNameFromHost: {@code namespace/name} of a Kubernetes-style host. */
  static String resourceName(String defaultNs, String host) {
    String suffix = "." + MeshConfig.DOMAIN_SUFFIX;
    if (host.endsWith(suffix)) {
      String rest = host.substring(0, host.length() - suffix.length());
      int dot = rest.lastIndexOf('.');
      if (dot > 0) {
        return rest.substring(dot + 1) + "/" + rest.substring(0, dot);
      }
    }
    return defaultNs + "/" + host;
  }
}
