package io.shopmesh.mesh.meshctl.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.shopmesh.mesh.wire.NodeId;
import java.io.IOException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * istiod's {@code /debug/syncz}, read as {@code istioctl proxy-status} shows it: for each proxy (by
 * pod name) the state of CDS, LDS, EDS and RDS: SYNCED, STALE or NOT SENT.
 */
public final class SyncStatus {

  public static final List<String> TYPES = List.of("CDS", "LDS", "EDS", "RDS");
  public static final String SYNCED = "SYNCED";
  public static final String NOT_SENT = "NOT SENT";
  public static final String STALE = "STALE";

  /** One proxy's row. */
  public record Proxy(String pod, String namespace, String proxyId, Map<String, String> types) {
    public String type(String t) {
      return types.getOrDefault(t, NOT_SENT);
    }

    /** In sync: nothing stale and at least the first config (CDS and LDS) acknowledged. */
    public boolean synced() {
      return types.values().stream().noneMatch(STALE::equals)
          && SYNCED.equals(type("CDS"))
          && SYNCED.equals(type("LDS"));
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  private SyncStatus() {}

  /** Parses syncz tolerantly: field names in either case, statuses flat or nested. */
  public static Map<String, Proxy> parse(String json) throws IOException {
    JsonNode root = JSON.readTree(json);
    if (root.isObject()) {
      JsonNode inner = firstField(root, "proxies", "items", "syncz");
      root = inner != null ? inner : root;
    }
    Map<String, Proxy> out = new LinkedHashMap<>();
    if (!root.isArray()) {
      return out;
    }
    for (JsonNode p : root) {
      String id = text(firstField(p, "proxy", "proxyId", "proxy_id", "id", "node", "nodeId"));
      String pod = text(firstField(p, "pod", "podName", "pod_name", "name"));
      String ns = text(firstField(p, "namespace", "podNamespace"));
      if ((pod == null || ns == null) && id != null) {
        NodeId nodeId = NodeId.parse(id);
        if (pod == null && !nodeId.podName().isEmpty()) {
          pod = nodeId.podName();
        }
        if (ns == null && NodeId.hasPodNamespace(id)) {
          ns = nodeId.namespace();
        }
      }
      if (pod == null) {
        continue;
      }
      Map<String, String> types = new LinkedHashMap<>();
      for (String t : TYPES) {
        String s = findStatus(p, t, 0);
        if (s != null) {
          types.put(t, normalize(s));
        }
      }
      out.put(pod, new Proxy(pod, ns, id, types));
    }
    return out;
  }

  private static String normalize(String s) {
    String u = s.trim().toUpperCase().replace('_', ' ');
    return u.equals("NOTSENT") ? NOT_SENT : u;
  }

  private static String findStatus(JsonNode node, String type, int depth) {
    if (node == null || depth > 3 || !node.isContainerNode()) {
      return null;
    }
    if (node.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (e.getKey().equalsIgnoreCase(type)
            || e.getKey().toUpperCase().startsWith(type + "_")
            || e.getKey().endsWith(suffixOf(type))) {
          JsonNode v = e.getValue();
          if (v.isTextual()) {
            return v.asText();
          }
          String s = text(firstField(v, "status", "state", "syncStatus"));
          if (s != null) {
            return s;
          }
        }
      }
      for (Iterator<JsonNode> it = node.elements(); it.hasNext(); ) {
        String s = findStatus(it.next(), type, depth + 1);
        if (s != null) {
          return s;
        }
      }
    } else {
      // [{"type":"CDS","status":"SYNCED"}, ...]
      for (JsonNode el : node) {
        String t = text(firstField(el, "type", "typeUrl", "type_url"));
        if (t != null && (t.equalsIgnoreCase(type) || t.endsWith(suffixOf(type)))) {
          String s = text(firstField(el, "status", "state"));
          if (s != null) {
            return s;
          }
        }
      }
    }
    return null;
  }

  private static String suffixOf(String type) {
    return switch (type) {
      case "CDS" -> "v3.Cluster";
      case "LDS" -> "v3.Listener";
      case "RDS" -> "v3.RouteConfiguration";
      default -> "v3.ClusterLoadAssignment";
    };
  }

  static JsonNode firstField(JsonNode node, String... names) {
    if (node == null || !node.isObject()) {
      return null;
    }
    for (String n : names) {
      for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
        String f = it.next();
        if (f.equalsIgnoreCase(n)) {
          return node.get(f);
        }
      }
    }
    return null;
  }

  private static String text(JsonNode n) {
    return n == null || n.isNull() || n.isContainerNode() ? null : n.asText();
  }
}
