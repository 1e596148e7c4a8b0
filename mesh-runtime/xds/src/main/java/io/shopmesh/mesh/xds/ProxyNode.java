package io.shopmesh.mesh.xds;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.shopmesh.mesh.wire.NodeId;
import io.shopmesh.mesh.wire.NodeMetadata;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The proxy asking for config, as Istio's model.Proxy sees it: parsed from the Envoy node id
 * ({@code sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local}) and node metadata (NAME, NAMESPACE,
 * LABELS, INSTANCE_IPS, WORKLOAD_NAME, POD_PORTS, INTERCEPTION_MODE).
 */
public record ProxyNode(
    NodeId.Type type,
    String id,
    String ip,
    String podName,
    String namespace,
    Map<String, String> labels,
    String workloadName,
    List<PodPort> ports,
    String interceptionMode) {

  public ProxyNode {
    labels = Map.copyOf(labels);
    ports = List.copyOf(ports);
  }

  /** Istio's node id for a pod. */
  public static String nodeId(NodeId.Type type, String ip, String pod, String ns) {
    return NodeId.format(type, ip, pod, ns);
  }

  public static ProxyNode sidecar(WorkloadInstance w) {
    return new ProxyNode(
        NodeId.Type.SIDECAR,
        nodeId(NodeId.Type.SIDECAR, w.ip(), w.podName(), w.namespace()),
        w.ip(),
        w.podName(),
        w.namespace(),
        w.labels(),
        w.workloadName(),
        w.ports(),
        "NONE");
  }

  public static ProxyNode router(WorkloadInstance w) {
    return new ProxyNode(
        NodeId.Type.ROUTER,
        nodeId(NodeId.Type.ROUTER, w.ip(), w.podName(), w.namespace()),
        w.ip(),
        w.podName(),
        w.namespace(),
        w.labels(),
        w.workloadName(),
        w.ports(),
        "NONE");
  }

  /** The workload this proxy stands for, as the registry keeps it. */
  public WorkloadInstance toWorkload() {
    return new WorkloadInstance(
        podName, namespace, ip, labels, workloadName, ports, type == NodeId.Type.SIDECAR);
  }

  /** The Envoy node this proxy sends, with Istio's metadata keys. */
  public Node toNode() {
    Struct.Builder lbl = Struct.newBuilder();
    new TreeMap<>(labels).forEach((k, v) -> lbl.putFields(k, str(v)));
    StringBuilder pp = new StringBuilder("[");
    for (int i = 0; i < ports.size(); i++) {
      PodPort p = ports.get(i);
      if (i > 0) {
        pp.append(',');
      }
      pp.append('{');
      if (p.name() != null) {
        pp.append("\"name\":\"").append(p.name()).append("\",");
      }
      pp.append("\"containerPort\":")
          .append(p.containerPort())
          .append(",\"protocol\":\"")
          .append(p.protocol() == null ? "TCP" : p.protocol())
          .append("\"}");
    }
    pp.append(']');
    Struct md =
        Struct.newBuilder()
            .putFields(NodeMetadata.NAME, str(podName))
            .putFields(NodeMetadata.NAMESPACE, str(namespace))
            .putFields(NodeMetadata.LABELS, Value.newBuilder().setStructValue(lbl).build())
            .putFields(NodeMetadata.INSTANCE_IPS, str(ip))
            .putFields(NodeMetadata.WORKLOAD_NAME, str(workloadName))
            .putFields(NodeMetadata.POD_PORTS, str(pp.toString()))
            .putFields(NodeMetadata.CLUSTER_ID, str(NodeMetadata.DEFAULT_CLUSTER_ID))
            .putFields(NodeMetadata.MESH_ID, str(NodeMetadata.DEFAULT_MESH_ID))
            .putFields(NodeMetadata.INTERCEPTION_MODE, str(interceptionMode))
            .build();
    return Node.newBuilder()
        .setId(id)
        .setCluster(workloadName + "." + namespace)
        .setMetadata(md)
        .build();
  }

  /** Reads a node as Envoy sends it. Missing metadata falls back to what the node id says. */
  public static ProxyNode fromNode(Node node) {
    String id = node.getId();
    NodeId parsed = NodeId.parse(id);
    NodeId.Type type = parsed.type();
    String idIp = parsed.ip();
    String idPod = parsed.podName();
    String idNs = parsed.namespace();
    Map<String, Value> md = node.getMetadata().getFieldsMap();
    String name = text(md, NodeMetadata.NAME, idPod);
    String ns = text(md, NodeMetadata.NAMESPACE, idNs);
    String ips = text(md, NodeMetadata.INSTANCE_IPS, idIp);
    String ip = ips.split(",")[0].trim();
    Map<String, String> labels = new LinkedHashMap<>();
    Value l = md.get(NodeMetadata.LABELS);
    if (l != null && l.hasStructValue()) {
      l.getStructValue()
          .getFieldsMap()
          .forEach((k, v) -> labels.put(k, v.hasStringValue() ? v.getStringValue() : v.toString()));
    }
    String workload = text(md, NodeMetadata.WORKLOAD_NAME, "");
    if (workload.isEmpty()) {
      String cluster = node.getCluster();
      workload =
          cluster.endsWith("." + ns)
              ? cluster.substring(0, cluster.length() - ns.length() - 1)
              : name;
    }
    List<PodPort> ports = parsePorts(text(md, NodeMetadata.POD_PORTS, ""));
    String mode = text(md, NodeMetadata.INTERCEPTION_MODE, "REDIRECT");
    return new ProxyNode(type, id, ip, name, ns, labels, workload, ports, mode);
  }

  static List<PodPort> parsePorts(String json) {
    List<PodPort> out = new ArrayList<>();
    if (json == null || json.isBlank()) {
      return out;
    }
    ListValue.Builder lv = ListValue.newBuilder();
    try {
      JsonFormat.parser().ignoringUnknownFields().merge(json, lv);
    } catch (InvalidProtocolBufferException e) {
      return out;
    }
    for (Value v : lv.getValuesList()) {
      if (!v.hasStructValue()) {
        continue;
      }
      Map<String, Value> f = v.getStructValue().getFieldsMap();
      Value port = f.get("containerPort");
      if (port == null) {
        continue;
      }
      int n =
          port.hasNumberValue()
              ? (int) port.getNumberValue()
              : Integer.parseInt(port.getStringValue());
      out.add(
          new PodPort(
              f.containsKey("name") ? f.get("name").getStringValue() : null,
              n,
              f.containsKey("protocol") ? f.get("protocol").getStringValue() : "TCP"));
    }
    return out;
  }

  private static String text(Map<String, Value> md, String key, String dflt) {
    Value v = md.get(key);
    if (v == null || !v.hasStringValue() || v.getStringValue().isEmpty()) {
      return dflt;
    }
    return v.getStringValue();
  }

  private static Value str(String s) {
    return Value.newBuilder().setStringValue(s == null ? "" : s).build();
  }
}
