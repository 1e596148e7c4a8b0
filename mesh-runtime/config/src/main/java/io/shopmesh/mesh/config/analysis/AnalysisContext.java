package io.shopmesh.mesh.config.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.Resource;
import io.shopmesh.mesh.config.SourceRef;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the analyzers see: every object that was read (valid or not, as istioctl analyze does), the
 * workloads they run, and, like a cluster with Istio installed, the ingress gateway (Service and
 * pod istio-system/istio-ingressgateway) unless the config brings its own.
 */
public final class AnalysisContext {

  public static final String INGRESS_NAMESPACE = "istio-system";
  public static final String INGRESS_NAME = "istio-ingressgateway";

  private final List<Resource> resources;
  private final List<Workload> workloads = new ArrayList<>();
  private JsonNode meshConfig = MissingNode.getInstance();

  public AnalysisContext(List<Resource> input, boolean meshDefaults) {
    List<Resource> all = new ArrayList<>(input);
    if (meshDefaults) {
      addDefaults(all);
    }
    this.resources = List.copyOf(all);
    Map<String, Map<String, String>> nodes = new TreeMap<>();
    for (Resource r : resources) {
      if (r.is("", "Node")) {
        nodes.put(r.name(), labels(r.object().path("metadata").path("labels")));
      }
    }
    for (Resource r : resources) {
      if (r.is("", "Pod")) {
        Map<String, String> podLabels = labels(r.object().path("metadata").path("labels"));
        augment(podLabels, r.spec().path("nodeName").asText(""), nodes);
        workloads.add(new Workload(r.namespace(), r.name(), podLabels, r));
      } else if (r.is("apps", "Deployment") && r.spec().path("replicas").asInt(1) > 0) {
        workloads.add(
            new Workload(
                r.namespace(),
                r.name(),
                labels(r.spec().path("template").path("metadata").path("labels")),
                r));
      }
    }
  }

  /** Istio's MeshConfig (as in istioctl analyze --meshConfigFile); only proxyMetadata is used. */
  public AnalysisContext withMeshConfig(JsonNode meshConfig) {
    this.meshConfig = meshConfig == null ? MissingNode.getInstance() : meshConfig;
    return this;
  }

  /** DNS capture with automatic address allocation: ServiceEntries then get addresses. */
  public boolean dnsAutoAllocate() {
    JsonNode md = meshConfig.path("defaultConfig").path("proxyMetadata");
    return md.path("ISTIO_META_DNS_CAPTURE").asText("").equals("true")
        && (md.path("ISTIO_META_DNS_AUTO_ALLOCATE").asText("").equals("true")
            || md.path("PILOT_ENABLE_IP_AUTOALLOCATE").asText("").equals("true"));
  }

  public List<Resource> resources() {
    return resources;
  }

  public List<Resource> istio(String kind) {
    return resources.stream().filter(r -> r.is(ConfigLoader.ISTIO_NETWORKING, kind)).toList();
  }

  public List<Resource> services() {
    return resources.stream().filter(r -> r.is("", "Service")).toList();
  }

  public List<Workload> workloads() {
    return workloads;
  }

  public static Map<String, String> labels(JsonNode n) {
    Map<String, String> out = new TreeMap<>();
    Iterator<Map.Entry<String, JsonNode>> it = n.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      out.put(e.getKey(), e.getValue().asText());
    }
    return out;
  }

  /**
   * Istio adds the locality of a pod's node and the node name to its labels, so DestinationRule
   * subsets can select by topology (label.AugmentLabels).
   */
  private static void augment(
      Map<String, String> podLabels, String nodeName, Map<String, Map<String, String>> nodes) {
    Map<String, String> node = nodes.get(nodeName);
    if (node != null) {
      String region = node.getOrDefault("topology.kubernetes.io/region", "");
      String zone = node.getOrDefault("topology.kubernetes.io/zone", "");
      String subzone = node.getOrDefault("topology.istio.io/subzone", "");
      if (!region.isEmpty()) {
        podLabels.put("topology.kubernetes.io/region", region);
      }
      if (!zone.isEmpty()) {
        podLabels.put("topology.kubernetes.io/zone", zone);
      }
      if (!subzone.isEmpty()) {
        podLabels.put("topology.istio.io/subzone", subzone);
      }
    }
    if (!nodeName.isEmpty()) {
      podLabels.put("kubernetes.io/hostname", nodeName);
    }
  }

  /** Kubernetes' selector string: sorted {@code k=v} pairs joined by commas. */
  public static String selectorString(Map<String, String> selector) {
    StringBuilder sb = new StringBuilder();
    new TreeMap<>(selector)
        .forEach((k, v) -> sb.append(sb.length() == 0 ? "" : ",").append(k).append('=').append(v));
    return sb.toString();
  }

  private static void addDefaults(List<Resource> all) {
    boolean hasService =
        all.stream()
            .anyMatch(
                r ->
                    r.is("", "Service")
                        && INGRESS_NAME.equals(r.name())
                        && INGRESS_NAMESPACE.equals(r.namespace()));
    boolean hasPod =
        all.stream()
            .anyMatch(
                r ->
                    (r.is("", "Pod") || r.is("apps", "Deployment"))
                        && INGRESS_NAMESPACE.equals(r.namespace())
                        && r.name() != null
                        && r.name().startsWith(INGRESS_NAME));
    ObjectMapper om = new ObjectMapper();
    SourceRef builtIn = new SourceRef(Path.of("<built-in>"), 0);
    if (!hasService) {
      JsonNode svc =
          om.createObjectNode()
              .put("apiVersion", "v1")
              .put("kind", "Service")
              .set(
                  "metadata",
                  om.createObjectNode()
                      .put("name", INGRESS_NAME)
                      .put("namespace", INGRESS_NAMESPACE));
      ((ObjectNode) svc)
          .set(
              "spec",
              om.valueToTree(
                  Map.of(
                      "selector", Map.of("istio", "ingressgateway"),
                      "ports",
                          List.of(
                              Map.of(
                                  "name",
                                  "http2",
                                  "port",
                                  80,
                                  "targetPort",
                                  8080,
                                  "protocol",
                                  "TCP"),
                              Map.of(
                                  "name",
                                  "https",
                                  "port",
                                  443,
                                  "targetPort",
                                  8443,
                                  "protocol",
                                  "TCP")))));
      all.add(new Resource("v1", "Service", INGRESS_NAMESPACE, INGRESS_NAME, svc, builtIn));
    }
    if (!hasPod) {
      JsonNode pod =
          om.valueToTree(
              Map.of(
                  "apiVersion",
                  "v1",
                  "kind",
                  "Pod",
                  "metadata",
                  Map.of(
                      "name",
                      INGRESS_NAME,
                      "namespace",
                      INGRESS_NAMESPACE,
                      "labels",
                      Map.of("istio", "ingressgateway", "app", INGRESS_NAME))));
      all.add(new Resource("v1", "Pod", INGRESS_NAMESPACE, INGRESS_NAME, pod, builtIn));
    }
  }
}
