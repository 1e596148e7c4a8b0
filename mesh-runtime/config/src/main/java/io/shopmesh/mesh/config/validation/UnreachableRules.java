package io.shopmesh.mesh.config.validation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Rules of a VirtualService that can never match (IST0130) and matches that earlier rules already
 * cover (IST0131), found as Istio's validation finds them: exact duplicates, rules after a
 * catch-all rule, and URI prefix matches covered by a shorter prefix of an earlier rule.
 */
final class UnreachableRules {

  interface Unused {
    void report(String path, String ruleno, String reason);
  }

  interface Ineffective {
    void report(String path, String ruleno, String matchno, String dupno);
  }

  private record PrefixMatch(
      String path,
      String routeStr,
      String matchStr,
      String prefix,
      long port,
      String method,
      String authority,
      Map<String, String> headers,
      Map<String, String> query,
      Map<String, String> withoutHeaders) {}

  private UnreachableRules() {}

  static void analyze(JsonNode spec, Unused unused, Ineffective ineffective) {
    for (String kind : List.of("http", "tcp", "tls")) {
      JsonNode routes = spec.path(kind);
      Map<JsonNode, Integer> seen = new HashMap<>();
      int emptyMatch = -1;
      List<PrefixMatch> prefixes = new ArrayList<>();
      for (int r = 0; r < routes.size(); r++) {
        JsonNode route = routes.get(r);
        String path = "spec." + kind + "[" + r + "]";
        String name = routeName(kind, route, r);
        JsonNode matches = route.path("match");
        if (matches.isEmpty()) {
          if (emptyMatch >= 0) {
            unused.report(path, name, "only the last rule can have no matches");
          }
          emptyMatch = r;
          continue;
        }
        int duplicates = 0;
        for (int m = 0; m < matches.size(); m++) {
          JsonNode match = matches.get(m);
          String mpath = path + ".match[" + m + "]";
          if (emptyMatch >= 0) {
            unused.report(path, name, "route without matches defined before");
            continue;
          }
          JsonNode key = withoutName(match);
          Integer dup = seen.get(key);
          if (dup != null) {
            ineffective.report(
                mpath, name, requestName(kind, match, m), routeName(kind, routes.get(dup), dup));
            duplicates++;
            continue;
          }
          seen.put(key, r);
          if (kind.equals("http")) {
            PrefixMatch pm = prefixMatch(mpath, name, match, m);
            if (pm != null) {
              prefixes.add(pm);
            }
          }
        }
        if (duplicates == matches.size()) {
          unused.report(path, name, "all matches used by prior rules");
        }
      }
      for (int a = 0; a < prefixes.size(); a++) {
        for (int b = a + 1; b < prefixes.size(); b++) {
          PrefixMatch pa = prefixes.get(a);
          PrefixMatch pb = prefixes.get(b);
          if (pa.prefix().equals(pb.prefix())) {
            continue;
          }
          if (covered(pa, pb)) {
            ineffective.report(
                pb.path(),
                pb.routeStr(),
                pb.matchStr() + " of prefix " + pb.prefix(),
                pa.matchStr() + " of prefix " + pa.prefix() + " on " + pa.routeStr());
          }
        }
      }
    }
  }

  private static JsonNode withoutName(JsonNode match) {
    if (match instanceof ObjectNode o && o.has("name")) {
      ObjectNode copy = o.deepCopy();
      copy.remove("name");
      return copy;
    }
    return match;
  }

  private static String routeName(String kind, JsonNode route, int n) {
    if (kind.equals("http") && !route.path("name").asText("").isEmpty()) {
      return "\"" + route.get("name").asText() + "\"";
    }
    return "#" + n;
  }

  private static String requestName(String kind, JsonNode match, int n) {
    if (kind.equals("http") && !match.path("name").asText("").isEmpty()) {
      return "\"" + match.get("name").asText() + "\"";
    }
    return "#" + n;
  }

  private static String exactOrPrefix(JsonNode sm) {
    if (!sm.path("exact").asText("").isEmpty()) {
      return "exact:" + sm.get("exact").asText();
    }
    if (!sm.path("prefix").asText("").isEmpty()) {
      return "prefix:" + sm.get("prefix").asText();
    }
    return "";
  }

  private static PrefixMatch prefixMatch(String path, String routeStr, JsonNode match, int m) {
    String prefix = match.path("uri").path("prefix").asText("");
    if (prefix.isEmpty()) {
      return null;
    }
    String method = exactOrPrefix(match.path("method"));
    if (method.isEmpty()) {
      method = "exact:GET";
    }
    return new PrefixMatch(
        path,
        routeStr,
        requestName("http", match, m),
        prefix,
        match.path("port").asLong(0),
        method,
        exactOrPrefix(match.path("authority")),
        stringMatches(match.path("headers")),
        stringMatches(match.path("queryParams")),
        stringMatches(match.path("withoutHeaders")));
  }

  private static Map<String, String> stringMatches(JsonNode n) {
    Map<String, String> out = new HashMap<>();
    Iterator<Map.Entry<String, JsonNode>> it = n.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      out.put(e.getKey(), exactOrPrefix(e.getValue()));
    }
    return out;
  }

  private static boolean covered(PrefixMatch a, PrefixMatch b) {
    if (!b.prefix().startsWith(a.prefix()) || a.port() != b.port()) {
      return false;
    }
    if (!a.method().equals(b.method()) && !a.method().startsWith(b.method())) {
      return false;
    }
    if (!a.authority().equals(b.authority()) && !a.authority().startsWith(b.authority())) {
      return false;
    }
    return mapCovered(a.headers(), b.headers())
        && mapCovered(a.query(), b.query())
        && mapCovered(a.withoutHeaders(), b.withoutHeaders());
  }

  private static boolean mapCovered(Map<String, String> a, Map<String, String> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (Map.Entry<String, String> e : a.entrySet()) {
      String bv = b.get(e.getKey());
      if (bv == null || (!e.getValue().equals(bv) && !e.getValue().startsWith(bv))) {
        return false;
      }
    }
    return true;
  }
}
