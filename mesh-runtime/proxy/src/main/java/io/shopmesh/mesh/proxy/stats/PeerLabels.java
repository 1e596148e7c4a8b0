package io.shopmesh.mesh.proxy.stats;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.shopmesh.mesh.wire.IstioMetadata;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Workload labels as Istio derives them from peer (or own) node metadata. */
public record PeerLabels(
    String workload,
    String namespace,
    String app,
    String version,
    String canonicalService,
    String canonicalRevision,
    String cluster) {

  public static final PeerLabels UNKNOWN =
      new PeerLabels("unknown", "unknown", "unknown", "unknown", "unknown", "latest", "unknown");

  /** Decoded peers by header value: a peer sends the same value on every request. Bounded. */
  private static final int CACHE_MAX = 512;

  private static final Map<String, PeerLabels> BY_HEADER = new ConcurrentHashMap<>();
  private static final Map<String, PeerLabels> BY_WORKLOAD_META = new ConcurrentHashMap<>();

  /**
   * The peer an {@code x-envoy-peer-metadata} value (base64 of a serialized Struct) describes, or
   * null when the value is absent or unreadable. Decoded once per distinct value.
   */
  /**
   * Istio's standard peer labels of one request or connection, in Istio's order: {@code reporter}
   * and the source and destination workload labels (principals are {@code unknown}: no mTLS).
   */
  public static void putPeers(
      Map<String, String> l, boolean source, PeerLabels src, PeerLabels dst) {
    l.put("reporter", source ? "source" : "destination");
    l.put("source_workload", src.workload());
    l.put("source_workload_namespace", src.namespace());
    l.put("source_principal", "unknown");
    l.put("source_app", src.app());
    l.put("source_version", src.version());
    l.put("source_cluster", src.cluster());
    l.put("destination_workload", dst.workload());
    l.put("destination_workload_namespace", dst.namespace());
    l.put("destination_principal", "unknown");
    l.put("destination_app", dst.app());
    l.put("destination_version", dst.version());
  }

  public static PeerLabels fromHeader(String header) {
    if (header == null || header.isEmpty()) {
      return null;
    }
    PeerLabels p = BY_HEADER.get(header);
    if (p != null) {
      return p;
    }
    Struct s;
    try {
      s = Struct.parseFrom(Base64.getDecoder().decode(header.trim()));
    } catch (Exception e) {
      return null;
    }
    p = fromStruct(s);
    if (BY_HEADER.size() >= CACHE_MAX) {
      BY_HEADER.clear();
    }
    BY_HEADER.put(header, p);
    return p;
  }

  public static PeerLabels fromStruct(Struct s) {
    if (s == null) {
      return UNKNOWN;
    }
    Map<String, Value> f = s.getFieldsMap();
    Map<String, Value> labels =
        f.containsKey("LABELS") ? f.get("LABELS").getStructValue().getFieldsMap() : Map.of();
    String workload = str(f, "WORKLOAD_NAME", str(f, "NAME", "unknown"));
    String app = str(labels, "app", str(labels, "app.kubernetes.io/name", "unknown"));
    String version = str(labels, "version", str(labels, "app.kubernetes.io/version", "unknown"));
    String canonical =
        str(
            labels,
            IstioMetadata.CANONICAL_NAME_LABEL,
            str(labels, "app.kubernetes.io/name", str(labels, "app", workload)));
    String revision =
        str(
            labels,
            IstioMetadata.CANONICAL_REVISION_LABEL,
            str(labels, "app.kubernetes.io/version", str(labels, "version", "latest")));
    return new PeerLabels(
        workload,
        str(f, "NAMESPACE", "unknown"),
        app,
        version,
        canonical,
        revision,
        str(f, "CLUSTER_ID", "unknown"));
  }

  /**
   * From Istio's endpoint metadata istio.workload "name;namespace;canonical-name;revision;cluster".
   */
  public static PeerLabels fromWorkloadMeta(String meta) {
    if (meta == null || meta.isEmpty()) {
      return UNKNOWN;
    }
    PeerLabels cached = BY_WORKLOAD_META.get(meta);
    if (cached != null) {
      return cached;
    }
    PeerLabels p = parseWorkloadMeta(meta);
    if (BY_WORKLOAD_META.size() >= CACHE_MAX) {
      BY_WORKLOAD_META.clear();
    }
    BY_WORKLOAD_META.put(meta, p);
    return p;
  }

  private static PeerLabels parseWorkloadMeta(String meta) {
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
