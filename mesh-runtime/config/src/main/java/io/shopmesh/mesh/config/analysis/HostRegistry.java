package io.shopmesh.mesh.config.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.config.ExportTo;
import io.shopmesh.mesh.config.Hosts;
import io.shopmesh.mesh.config.MeshConfig;
import io.shopmesh.mesh.config.Resource;
import io.shopmesh.mesh.config.model.MeshService;
import io.shopmesh.mesh.config.model.ServiceConversion;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The hosts the mesh knows ({@link MeshService}, converted as the translator converts them), with
 * the namespaces that can see them: ServiceEntry hosts (as written, scoped by exportTo) and
 * Kubernetes Services ({@code name.namespace.svc.cluster.local}, scoped by the
 * networking.istio.io/exportTo annotation), as Istio's analyzers look them up.
 */
final class HostRegistry {

  /** A known host: the service it is, and the object it came from. */
  record Entry(MeshService service, Resource source) {

    List<MeshService.Port> ports() {
      return service.ports();
    }

    /** The ServiceEntry that declares the host, null for a Kubernetes Service. */
    Resource serviceEntry() {
      return service.serviceEntry() ? source : null;
    }

    Map<String, String> workloadSelector() {
      return service.workloadSelector();
    }
  }

  private final Map<String, Entry> scoped = new LinkedHashMap<>();

  HostRegistry(AnalysisContext ctx) {
    for (Resource se : ctx.istio("ServiceEntry")) {
      for (MeshService ms : ServiceConversion.fromServiceEntry(se)) {
        String fqdn = Hosts.fqdn(ms.hostname(), se.namespace());
        for (String scope : ExportTo.scopes(ms.exportTo(), se.namespace())) {
          scoped.put(scope + "/" + fqdn, new Entry(ms, se));
        }
      }
    }
    for (Resource svc : ctx.services()) {
      MeshService ms = ServiceConversion.fromKubernetes(svc);
      for (String scope : ExportTo.scopes(ms.exportTo(), svc.namespace())) {
        scoped.put(scope + "/" + ms.hostname(), new Entry(ms, svc));
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
