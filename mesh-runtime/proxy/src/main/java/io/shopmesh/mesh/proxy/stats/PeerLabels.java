package io.shopmesh.mesh.proxy.stats;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.util.Map;

/** Workload labels as Istio derives them from peer (or own) node metadata. */
public record PeerLabels(String workload, String namespace, String app, String version,
    String canonicalService, String canonicalRevision, String cluster) {

  public static final PeerLabels UNKNOWN =
      new PeerLabels("unknown", "unknown", "unknown", "unknown", "unknown", "latest", "unknown");

  public static PeerLabels fromStruct(Struct s) {
    if (s == null) {
      return UNKNOWN;
    }
    Map<String, Value> f = s.getFieldsMap();
    Map<String, Value> labels = f.containsKey("LABELS") ? f.get("LABELS").getStructValue().getFieldsMap()
        : Map.of();
    String workload = str(f, "WORKLOAD_NAME", str(f, "NAME", "unknown"));
    String app = str(labels, "app", str(labels, "app.kubernetes.io/name", "unknown"));
    String version = str(labels, "version", str(labels, "app.kubernetes.io/version", "unknown"));
    String canonical = str(labels, "service.istio.io/canonical-name",
        str(labels, "app.kubernetes.io/name", str(labels, "app", workload)));
    String revision = str(labels, "service.istio.io/canonical-revision",
        str(labels, "app.kubernetes.io/version", str(labels, "version", "latest")));
    return new PeerLabels(workload, str(f, "NAMESPACE", "unknown"), app, version, canonical, revision,
        str(f, "CLUSTER_ID", "unknown"));
  }

  /** From Istio's endpoint metadata istio.workload "name;namespace;canonical-name;revision;cluster". */
  public static PeerLabels fromWorkloadMeta(String meta) {
    if (meta == null || meta.isEmpty()) {
      return UNKNOWN;
    }
    String[] p = meta.split(";", -1);
    String name = p.length > 0 && !p[0].isEmpty() ? p[0] : "unknown";
    String ns = p.length > 1 && !p[1].isEmpty() ? p[1] : "unknown";
    String canon = p.length > 2 && !p[2].isEmpty() ? p[2] : name;
    String rev = p.length > 3 && !p[3].isEmpty() ? p[3] : "latest";
    String cluster = p.length > 4 && !p[4].isEmpty() ? p[4] : "unknown";
    return new PeerLabels(name, ns, "unknown", "unknown", canon, rev, cluster);
  }

  private static String str(Map<String, Value> m, String k, String dflt) {
    Value v = m.get(k);
    return v == null || v.getStringValue().isEmpty() ? dflt : v.getStringValue();
  }
}
