package io.shopmesh.mesh.proxy;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.util.Base64;
import java.util.Map;

/** The workload identity announced to istiod and exchanged with peers (x-envoy-peer-metadata). */
public final class NodeInfo {
  private final ProxyOptions opts;
  private final Struct metadata;
  private final String peerMetadataHeader;

  public NodeInfo(ProxyOptions opts) {
    this.opts = opts;
    this.metadata = buildMetadata(opts);
    this.peerMetadataHeader = Base64.getEncoder().encodeToString(peerStruct().toByteArray());
  }

  public ProxyOptions options() {
    return opts;
  }

  public Struct metadata() {
    return metadata;
  }

  public Node node() {
    return Node.newBuilder()
        .setId(opts.nodeId())
        .setCluster(opts.workload() + "." + opts.namespace)
        .setMetadata(metadata)
        .build();
  }

  /** Value of x-envoy-peer-metadata-id: the node id, as Istio's metadata exchange sends it. */
  public String peerId() {
    return opts.nodeId();
  }

  /** Value of x-envoy-peer-metadata: base64 of a serialized google.protobuf.Struct. */
  public String peerMetadata() {
    return peerMetadataHeader;
  }

  private Struct peerStruct() {
    Struct.Builder b = Struct.newBuilder();
    for (String k :
        new String[] {
          "NAME",
          "NAMESPACE",
          "LABELS",
          "WORKLOAD_NAME",
          "CLUSTER_ID",
          "MESH_ID",
          "INSTANCE_IPS",
          "ISTIO_VERSION"
        }) {
      if (metadata.containsFields(k)) {
        b.putFields(k, metadata.getFieldsOrThrow(k));
      }
    }
    b.putFields("APP_CONTAINERS", str(opts.workload()));
    return b.build();
  }

  private static Struct buildMetadata(ProxyOptions o) {
    Struct.Builder labels = Struct.newBuilder();
    for (Map.Entry<String, String> e : o.labels.entrySet()) {
      labels.putFields(e.getKey(), str(e.getValue()));
    }
    // as the pod spec lists its container ports: named only where the pod names them
    StringBuilder ports = new StringBuilder("[");
    for (int i = 0; i < o.ports.size(); i++) {
      if (i > 0) {
        ports.append(',');
      }
      int port = o.ports.get(i);
      String name = o.portNames.get(port);
      ports.append('{');
      if (name != null) {
        ports.append("\"name\":\"").append(name).append("\",");
      }
      ports.append("\"containerPort\":").append(port).append(",\"protocol\":\"TCP\"}");
    }
    ports.append(']');
    return Struct.newBuilder()
        .putFields("NAME", str(o.podName))
        .putFields("NAMESPACE", str(o.namespace))
        .putFields("LABELS", Value.newBuilder().setStructValue(labels).build())
        .putFields("INSTANCE_IPS", str(o.podIp))
        .putFields("WORKLOAD_NAME", str(o.workload()))
        .putFields("POD_PORTS", str(ports.toString()))
        .putFields("CLUSTER_ID", str(o.clusterId))
        .putFields("ISTIO_VERSION", str(o.istioVersion))
        .putFields("MESH_ID", str("cluster.local"))
        .putFields("INTERCEPTION_MODE", str(o.interceptionNone ? "NONE" : "REDIRECT"))
        .build();
  }

  static Value str(String s) {
    return Value.newBuilder().setStringValue(s == null ? "" : s).build();
  }

  static Value list(String... items) {
    ListValue.Builder lb = ListValue.newBuilder();
    for (String s : items) {
      lb.addValues(str(s));
    }
    return Value.newBuilder().setListValue(lb).build();
  }

  /** Decodes a peer's x-envoy-peer-metadata header; null when absent or malformed. */
  public static Struct decodePeer(String header) {
    if (header == null || header.isEmpty()) {
      return null;
    }
    try {
      return Struct.parseFrom(Base64.getDecoder().decode(header.trim()));
    } catch (Exception e) {
      return null;
    }
  }
}
