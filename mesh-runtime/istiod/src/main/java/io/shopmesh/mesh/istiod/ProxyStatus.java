package io.shopmesh.mesh.istiod;

import io.shopmesh.mesh.xds.ProxyNode;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What istiod knows of one connected proxy: who it is and, per xDS type, what was sent and ACKed.
 */
public final class ProxyStatus {

  /** Per type state, as istioctl proxy-status shows it. */
  public static final class TypeStatus {
    String sent;
    String sentNonce;
    String acked;
    String nackVersion;
    String nackError;
    long pushStartNanos = -1;

    public String status() {
      if (sent == null) {
        return "NOT SENT";
      }
      if (nackError == null && sent.equals(acked)) {
        return "SYNCED";
      }
      return "STALE";
    }

    Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("status", status());
      m.put("version_sent", sent);
      m.put("version_acked", acked);
      m.put("nonce", sentNonce);
      m.put("nack_version", nackVersion);
      m.put("last_nack_error", nackError);
      return m;
    }
  }

  public static final String[] TYPES = {"CDS", "LDS", "EDS", "RDS"};

  final ProxyNode proxy;
  final Instant connected = Instant.now();
  final Map<String, TypeStatus> types = new LinkedHashMap<>();
  int streams;

  ProxyStatus(ProxyNode proxy) {
    this.proxy = proxy;
    for (String t : TYPES) {
      types.put(t, new TypeStatus());
    }
  }

  public ProxyNode proxy() {
    return proxy;
  }

  public TypeStatus type(String t) {
    return types.get(t);
  }

  synchronized Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("proxy", proxy.id());
    m.put("pod", proxy.podName());
    m.put("namespace", proxy.namespace());
    m.put("proxy_type", proxy.type().prefix());
    m.put("cluster_id", "Kubernetes");
    m.put("connected", connected.toString());
    m.put("cluster_sent", types.get("CDS").sent);
    m.put("cluster_acked", types.get("CDS").acked);
    m.put("listener_sent", types.get("LDS").sent);
    m.put("listener_acked", types.get("LDS").acked);
    m.put("route_sent", types.get("RDS").sent);
    m.put("route_acked", types.get("RDS").acked);
    m.put("endpoint_sent", types.get("EDS").sent);
    m.put("endpoint_acked", types.get("EDS").acked);
    for (String t : TYPES) {
      m.put(t, types.get(t).toMap());
    }
    return m;
  }
}
