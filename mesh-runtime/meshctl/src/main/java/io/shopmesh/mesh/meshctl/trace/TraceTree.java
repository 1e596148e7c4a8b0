package io.shopmesh.mesh.meshctl.trace;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One request's decision records from every proxy, put in causal order and printed as a tree: the
 * gateway, then for each attempt the inbound record on the pod of its endpoint, then the outbound
 * records that pod's sidecar made while serving it, and so on.
 */
public final class TraceTree {
  /** A proxy's record with the pod it came from and that pod's IP. */
  public record Hop(String pod, String ip, JsonObject record) {
    Instant start() {
      return instant(record.getString("start"));
    }

    String direction() {
      return record.getString("direction", "");
    }
  }

  private final List<Hop> hops;
  private final Set<Hop> used = new HashSet<>();
  private final StringBuilder out = new StringBuilder();

  public TraceTree(List<Hop> hops) {
    this.hops = new ArrayList<>(hops);
    this.hops.sort(Comparator.comparing(Hop::start));
  }

  /** The records of {@code /debug/requests} answers, keyed by pod, with each pod's IP. */
  public static List<Hop> hops(Map<String, JsonArray> recordsByPod, Map<String, String> ipByPod) {
    List<Hop> out = new ArrayList<>();
    recordsByPod.forEach(
        (pod, recs) -> {
          for (int i = 0; i < recs.size(); i++) {
            out.add(new Hop(pod, ipByPod.get(pod), recs.getJsonObject(i)));
          }
        });
    return out;
  }

  public String render() {
    // Roots: records no attempt of another hop leads to (the gateway, or the first sidecar).
    for (Hop h : hops) {
      if (!used.contains(h) && (h.direction().equals("gateway") || isRoot(h))) {
        hop(h, "");
      }
    }
    for (Hop h : hops) {
      if (!used.contains(h)) {
        hop(h, "");
      }
    }
    return out.toString();
  }

  private boolean isRoot(Hop h) {
    if (h.direction().equals("outbound")) {
      // an outbound record is caused by the inbound record of the same pod, when there is one
      for (Hop o : hops) {
        if (o.pod().equals(h.pod()) && o.direction().equals("inbound")) {
          return false;
        }
      }
      return true;
    }
    for (Hop o : hops) {
      for (JsonObject a : attempts(o)) {
        if (h.ip() != null && h.ip().equals(ipOf(a.getString("endpoint")))) {
          return false;
        }
      }
    }
    return true;
  }

  private void hop(Hop h, String indent) {
    used.add(h);
    JsonObject r = h.record();
    out.append(indent)
        .append(label(h))
        .append(' ')
        .append(r.getString("method", ""))
        .append(' ')
        .append(r.getString("authority", ""))
        .append(r.getString("path", ""))
        .append(" -> ")
        .append(r.getInteger("status", 0))
        .append(flags(r.getString("flags")))
        .append(' ')
        .append(r.getLong("duration_ms", 0L))
        .append("ms\n");
    String sub = indent + "   ";
    JsonObject route = r.getJsonObject("route");
    if (route != null) {
      out.append(sub).append("route ").append(rule(route));
      int missed = r.getJsonArray("routes_considered", new JsonArray()).size() - 1;
      if (missed > 0) {
        out.append(" (after ").append(missed).append(" not matching)");
      }
      out.append('\n');
    } else if (r.containsKey("virtual_host") || r.containsKey("route_config")) {
      out.append(sub).append("no route");
      if (r.getValue("virtual_host") == null) {
        out.append(": no virtual host for ").append(r.getString("authority", ""));
      }
      out.append('\n');
    }
    for (Object o : r.getJsonArray("routes_considered", new JsonArray())) {
      JsonObject c = (JsonObject) o;
      if (!c.getBoolean("matched", false) && route == null) {
        out.append(sub).append("  ").append(c.getString("name", "")).append(": ");
        out.append(c.getString("reason")).append('\n');
      }
    }
    for (Object o : r.getJsonArray("faults", new JsonArray())) {
      JsonObject f = (JsonObject) o;
      out.append(sub)
          .append("fault ")
          .append(f.getString("kind"))
          .append(' ')
          .append(f.getString("detail"))
          .append(f.getBoolean("applied", false) ? ": applied\n" : ": not drawn\n");
    }
    JsonObject split = r.getJsonObject("weighted_clusters");
    if (split != null) {
      List<String> ws = new ArrayList<>();
      for (Object o : split.getJsonArray("weights")) {
        JsonObject w = (JsonObject) o;
        ws.add(w.getString("cluster") + " " + w.getInteger("weight"));
      }
      out.append(sub)
          .append("weighted: ")
          .append(String.join(", ", ws))
          .append(" -> picked ")
          .append(split.getString("picked"))
          .append('\n');
    } else if (r.getString("cluster") != null) {
      out.append(sub).append("cluster ").append(r.getString("cluster")).append('\n');
    }
    for (Object o : r.getJsonArray("mirrors", new JsonArray())) {
      JsonObject m = (JsonObject) o;
      out.append(sub)
          .append("mirror to ")
          .append(m.getString("cluster"))
          .append(m.getBoolean("sampled", false) ? "\n" : " (not sampled)\n");
    }
    for (JsonObject a : attempts(h)) {
      out.append(sub)
          .append("attempt ")
          .append(a.getInteger("attempt"))
          .append(": ")
          .append(a.getString("lb_policy", ""))
          .append(" of ")
          .append(a.getInteger("candidates", 0))
          .append(" -> ")
          .append(a.getString("endpoint", "none"));
      Hop next = nextHop(a);
      if (next != null) {
        out.append(" (").append(next.pod()).append(')');
      } else if (a.getString("workload") != null) {
        out.append(" (").append(a.getString("workload")).append(')');
      }
      out.append(' ')
          .append(a.getInteger("status", 0))
          .append(flags(a.getString("flags")))
          .append(' ')
          .append(a.getLong("duration_ms", 0L))
          .append("ms, ")
          .append(a.getString("retry", ""))
          .append('\n');
      if (next != null) {
        hop(next, sub + "   ");
        // what the pod's sidecar sent while serving it
        for (Hop o : hops) {
          if (!used.contains(o)
              && o.pod().equals(next.pod())
              && o.direction().equals("outbound")
              && !o.start().isBefore(next.start())) {
            hop(o, sub + "   ");
          }
        }
      }
    }
  }

  /** The inbound record on the pod at the attempt's endpoint, not yet shown. */
  private Hop nextHop(JsonObject attempt) {
    String ip = ipOf(attempt.getString("endpoint"));
    if (ip == null) {
      return null;
    }
    for (Hop h : hops) {
      if (!used.contains(h)
          && ip.equals(h.ip())
          && !h.direction().equals("outbound")
          && !h.start().isBefore(instant(attempt.getString("start")))) {
        return h;
      }
    }
    return null;
  }

  private static List<JsonObject> attempts(Hop h) {
    List<JsonObject> out = new ArrayList<>();
    for (Object o : h.record().getJsonArray("attempts", new JsonArray())) {
      out.add((JsonObject) o);
    }
    return out;
  }

  private static String label(Hop h) {
    String role = h.record().getString("role", "");
    String dir = h.direction();
    String what = role.equals("gateway") ? "gateway" : "sidecar " + dir;
    return h.pod() + " [" + what + "]";
  }

  /** {@code VS ns/name http[i] match[j] at file:line}, from the route's source metadata. */
  static String rule(JsonObject route) {
    JsonObject src = route.getJsonObject("source", new JsonObject());
    StringBuilder b = new StringBuilder();
    String config = src.getString("config");
    if (config != null) {
      String[] parts = config.split("/");
      int n = parts.length;
      b.append("VirtualService ").append(parts[n - 3]).append('/').append(parts[n - 1]);
    } else {
      b.append(route.getString("name", "(unnamed)"));
    }
    if (src.containsKey("rule")) {
      b.append(' ')
          .append(src.getString("kind", "http"))
          .append('[')
          .append(((Number) src.getValue("rule")).intValue())
          .append(']');
    }
    if (src.containsKey("match")) {
      b.append(" match[").append(((Number) src.getValue("match")).intValue()).append(']');
    }
    if (src.getString("source") != null) {
      b.append(" at ").append(src.getString("source"));
    }
    return b.toString();
  }

  /** Instants compared as instants: their text drops trailing zeros of the fraction. */
  static Instant instant(String s) {
    try {
      return s == null ? Instant.EPOCH : Instant.parse(s);
    } catch (DateTimeParseException e) {
      return Instant.EPOCH;
    }
  }

  private static String flags(String f) {
    return f == null || f.equals("-") ? "" : " " + f;
  }

  private static String ipOf(String endpoint) {
    if (endpoint == null) {
      return null;
    }
    int colon = endpoint.lastIndexOf(':');
    return colon < 0 ? endpoint : endpoint.substring(0, colon);
  }
}
