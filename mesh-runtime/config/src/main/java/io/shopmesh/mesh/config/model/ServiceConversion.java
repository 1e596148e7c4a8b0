package io.shopmesh.mesh.config.model;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.istio.api.api.networking.v1alpha3.ServiceEntryLocation;
import io.fabric8.istio.api.api.networking.v1alpha3.ServiceEntryResolution;
import io.fabric8.istio.api.api.networking.v1alpha3.WorkloadEntry;
import io.fabric8.istio.api.networking.v1.ServiceEntry;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.shopmesh.mesh.config.ExportTo;
import io.shopmesh.mesh.config.Hosts;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.Protocol;
import io.shopmesh.mesh.config.Resource;
import io.shopmesh.mesh.wire.IstioMetadata;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Kubernetes Services and ServiceEntries to {@link MeshService}, as Istio's kube/conversion.go and
 * serviceentry/conversion.go: from the typed objects the translator reads and from the JSON the
 * analyzers read (which may hold objects that did not validate), with the same rules.
 */
public final class ServiceConversion {

  /** Istio's annotation that limits where a Kubernetes Service is visible. */
  public static final String EXPORT_TO_ANNOTATION = "networking.istio.io/exportTo";

  public static final String INGRESS_SERVICE = "istio-ingressgateway";
  public static final String INGRESS_NAMESPACE = "istio-system";

  private ServiceConversion() {}

  /** A Kubernetes Service; null when it has no ports. */
  public static MeshService fromKubernetes(Located<Service> ls) {
    Service s = ls.object();
    if (s.getSpec() == null || s.getSpec().getPorts() == null) {
      return null;
    }
    List<MeshService.Port> ports = new ArrayList<>();
    for (ServicePort p : s.getSpec().getPorts()) {
      IntOrString t = p.getTargetPort();
      ports.add(
          kubernetesPort(
              p.getName(),
              p.getPort(),
              p.getAppProtocol(),
              p.getProtocol(),
              t == null ? null : t.getIntVal(),
              t == null ? null : t.getStrVal()));
    }
    Map<String, String> annotations =
        s.getMetadata() == null ? null : s.getMetadata().getAnnotations();
    return kubernetes(
        ls.name(),
        ls.namespace(),
        ports,
        s.getSpec().getSelector(),
        annotations == null ? null : annotations.get(EXPORT_TO_ANNOTATION),
        s.getSpec().getClusterIP());
  }

  /** A Kubernetes Service as written (the analyzers know it even without ports). */
  public static MeshService fromKubernetes(Resource r) {
    JsonNode spec = r.spec();
    List<MeshService.Port> ports = new ArrayList<>();
    for (JsonNode p : spec.path("ports")) {
      JsonNode t = p.path("targetPort");
      ports.add(
          kubernetesPort(
              text(p, "name"),
              p.path("port").asInt(),
              text(p, "appProtocol"),
              text(p, "protocol"),
              t.isInt() ? t.asInt() : null,
              t.isTextual() ? t.asText() : null));
    }
    return kubernetes(
        r.name(),
        r.namespace(),
        ports,
        labels(spec.path("selector")),
        text(r.object().path("metadata").path("annotations"), EXPORT_TO_ANNOTATION),
        text(spec, "clusterIP"));
  }

  /** The hosts of a ServiceEntry, one service each (empty when hosts or ports are missing). */
  public static List<MeshService> fromServiceEntry(Located<ServiceEntry> lse) {
    var spec = lse.object().getSpec();
    List<MeshService> out = new ArrayList<>();
    if (spec == null || spec.getHosts() == null || spec.getPorts() == null) {
      return out;
    }
    ServiceEntryResolution r = spec.getResolution();
    List<MeshService.Port> ports = new ArrayList<>();
    for (var p : spec.getPorts()) {
      ports.add(
          serviceEntryPort(
              p.getName(),
              p.getNumber().intValue(),
              p.getProtocol(),
              p.getTargetPort() == null ? 0 : p.getTargetPort().intValue()));
    }
    List<MeshService.Endpoint> eps = new ArrayList<>();
    if (spec.getEndpoints() != null) {
      for (WorkloadEntry we : spec.getEndpoints()) {
        eps.add(
            new MeshService.Endpoint(
                we.getAddress(),
                we.getLabels() == null ? Map.of() : Map.copyOf(we.getLabels()),
                we.getPorts() == null ? Map.of() : Map.copyOf(we.getPorts())));
      }
    }
    Map<String, String> selector =
        spec.getWorkloadSelector() == null || spec.getWorkloadSelector().getLabels() == null
            ? Map.of()
            : spec.getWorkloadSelector().getLabels();
    return serviceEntry(
        spec.getHosts(),
        lse.namespace(),
        lse.name(),
        ports,
        r == null ? null : r.name(),
        spec.getLocation() == null || spec.getLocation() == ServiceEntryLocation.MESH_EXTERNAL,
        eps,
        spec.getExportTo() == null ? List.of() : spec.getExportTo(),
        selector,
        spec.getAddresses() == null ? List.of() : spec.getAddresses());
  }

  /** The hosts of a ServiceEntry as written, one service each. */
  public static List<MeshService> fromServiceEntry(Resource r) {
    JsonNode spec = r.spec();
    List<String> hosts = new ArrayList<>();
    spec.path("hosts").forEach(h -> hosts.add(h.asText()));
    List<MeshService.Port> ports = new ArrayList<>();
    for (JsonNode p : spec.path("ports")) {
      ports.add(
          serviceEntryPort(
              text(p, "name"),
              p.path("number").asInt(),
              text(p, "protocol"),
              p.path("targetPort").asInt(0)));
    }
    List<MeshService.Endpoint> eps = new ArrayList<>();
    for (JsonNode e : spec.path("endpoints")) {
      Map<String, Long> epPorts = new LinkedHashMap<>();
      e.path("ports")
          .fields()
          .forEachRemaining(f -> epPorts.put(f.getKey(), f.getValue().asLong()));
      eps.add(new MeshService.Endpoint(text(e, "address"), labels(e.path("labels")), epPorts));
    }
    String location = text(spec, "location");
    return serviceEntry(
        hosts,
        r.namespace(),
        r.name(),
        ports,
        text(spec, "resolution"),
        location == null || location.equals(ServiceEntryLocation.MESH_EXTERNAL.name()),
        eps,
        ExportTo.of(spec.path("exportTo")),
        labels(spec.path("workloadSelector").path("labels")),
        texts(spec.path("addresses")));
  }

  /**
   * A host declared by several ServiceEntries of one namespace, as Istio keeps it: the first
   * (oldest) ServiceEntry's service, with the later one's ports added when the two can merge (same
   * resolution, workloadSelector and exportTo; Istio's SidecarScope appendSidecarServices and
   * canMergeServices), and the endpoints of both (Istio indexes endpoints by host and namespace),
   * each an instance of its own ServiceEntry's ports only. Anything else keeps the first service.
   */
  public static MeshService mergeSameHost(MeshService first, MeshService later) {
    if (!first.serviceEntry()
        || !later.serviceEntry()
        || !first.namespace().equals(later.namespace())) {
      return first;
    }
    List<MeshService.Port> ports = new ArrayList<>(first.ports());
    boolean canMerge =
        first.resolution() == later.resolution()
            && first.workloadSelector().equals(later.workloadSelector())
            && Set.copyOf(first.exportTo()).equals(Set.copyOf(later.exportTo()));
    if (canMerge) {
      for (MeshService.Port p : later.ports()) {
        if (first.port(p.port()) == null) {
          ports.add(p);
        }
      }
    }
    Set<MeshService.Endpoint> endpoints = new LinkedHashSet<>(instances(first));
    endpoints.addAll(instances(later));
    return new MeshService(
        first.hostname(),
        first.name(),
        first.namespace(),
        ports,
        first.selector(),
        first.resolution(),
        first.meshExternal(),
        true,
        new ArrayList<>(endpoints),
        first.configPath(),
        first.exportTo(),
        first.workloadSelector(),
        first.addresses());
  }

  /**
   * A ServiceEntry service's endpoints, each bound to the service's ports; a DNS entry without
   * endpoints resolves its host (Istio's instance per port).
   */
  private static List<MeshService.Endpoint> instances(MeshService s) {
    Set<Integer> ports = new LinkedHashSet<>();
    s.ports().forEach(p -> ports.add(p.port()));
    List<MeshService.Endpoint> out = new ArrayList<>();
    if (s.endpoints().isEmpty() && s.resolution() == MeshService.Resolution.DNS) {
      out.add(new MeshService.Endpoint(s.hostname(), Map.of(), Map.of(), ports));
    }
    for (MeshService.Endpoint e : s.endpoints()) {
      out.add(
          e.servicePorts().isEmpty()
              ? new MeshService.Endpoint(e.address(), e.labels(), e.ports(), ports)
              : e);
    }
    return out;
  }

  /** istio-system/istio-ingressgateway as Istio's default profile installs it. */
  public static MeshService builtInIngressService() {
    return new MeshService(
        Hosts.fqdn(INGRESS_SERVICE, INGRESS_NAMESPACE),
        INGRESS_SERVICE,
        INGRESS_NAMESPACE,
        List.of(
            new MeshService.Port("http2", 80, Protocol.HTTP2, 8080, null),
            new MeshService.Port("https", 443, Protocol.HTTPS, 8443, null)),
        Map.of("istio", "ingressgateway", "app", INGRESS_SERVICE),
        MeshService.Resolution.CLIENT_SIDE,
        false,
        false,
        List.of(),
        null,
        List.of(),
        Map.of(),
        List.of());
  }

  private static MeshService kubernetes(
      String name,
      String namespace,
      List<MeshService.Port> ports,
      Map<String, String> selector,
      String exportToAnnotation,
      String clusterIp) {
    List<String> addresses =
        clusterIp == null || clusterIp.isEmpty() || clusterIp.equals("None")
            ? List.of()
            : List.of(clusterIp);
    return new MeshService(
        Hosts.fqdn(name, namespace),
        name,
        namespace,
        ports,
        selector == null ? Map.of() : Map.copyOf(selector),
        MeshService.Resolution.CLIENT_SIDE,
        false,
        false,
        List.of(),
        null,
        ExportTo.ofAnnotation(exportToAnnotation),
        Map.of(),
        addresses);
  }

  /** A Service port: a numeric or named target port; the protocol by Istio's ConvertProtocol. */
  private static MeshService.Port kubernetesPort(
      String name,
      int port,
      String appProtocol,
      String transport,
      Integer targetInt,
      String targetStr) {
    int target = port;
    String targetName = null;
    if (targetInt != null) {
      target = targetInt;
    } else if (targetStr != null) {
      try {
        target = Integer.parseInt(targetStr);
      } catch (NumberFormatException e) {
        target = 0;
        targetName = targetStr;
      }
    }
    return new MeshService.Port(
        name, port, Protocol.fromServicePort(name, appProtocol, transport), target, targetName);
  }

  private static MeshService.Port serviceEntryPort(
      String name, int number, String protocol, int targetPort) {
    return new MeshService.Port(
        name, number, Protocol.parse(protocol), targetPort == 0 ? number : targetPort, null);
  }

  private static List<MeshService> serviceEntry(
      List<String> hosts,
      String namespace,
      String name,
      List<MeshService.Port> ports,
      String resolution,
      boolean meshExternal,
      List<MeshService.Endpoint> endpoints,
      List<String> exportTo,
      Map<String, String> workloadSelector,
      List<String> addresses) {
    MeshService.Resolution res = MeshService.Resolution.PASSTHROUGH;
    if (ServiceEntryResolution.DNS.name().equals(resolution)) {
      res = MeshService.Resolution.DNS;
    } else if (ServiceEntryResolution.DNS_ROUND_ROBIN.name().equals(resolution)) {
      res = MeshService.Resolution.DNS_ROUND_ROBIN;
    } else if (ServiceEntryResolution.STATIC.name().equals(resolution)) {
      res = MeshService.Resolution.STATIC;
    }
    String path = IstioMetadata.configPath("serviceentry", namespace, name);
    List<MeshService> out = new ArrayList<>();
    for (String h : hosts) {
      out.add(
          new MeshService(
              h,
              h,
              namespace,
              ports,
              null,
              res,
              meshExternal,
              true,
              endpoints,
              path,
              exportTo,
              workloadSelector,
              addresses.stream().map(ServiceConversion::address).toList()));
    }
    return out;
  }

  /**
   * A ServiceEntry address as Istio's conversion keeps it: a CIDR whose prefix is the whole address
   * ({@code 1.1.1.1/32}) is that IP; any other value as written.
   */
  static String address(String a) {
    int slash = a.indexOf('/');
    if (slash < 0) {
      return a;
    }
    String ip = a.substring(0, slash);
    String bits = a.substring(slash + 1);
    String full = ip.contains(":") ? "128" : "32";
    return bits.equals(full) ? ip : a;
  }

  private static List<String> texts(JsonNode n) {
    List<String> out = new ArrayList<>();
    n.forEach(v -> out.add(v.asText()));
    return out;
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.path(field);
    return v.isValueNode() ? v.asText() : null;
  }

  private static Map<String, String> labels(JsonNode n) {
    Map<String, String> out = new LinkedHashMap<>();
    n.fields().forEachRemaining(f -> out.put(f.getKey(), f.getValue().asText()));
    return out;
  }
}
