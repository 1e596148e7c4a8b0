package io.shopmesh.mesh.config.validation;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.config.Hosts;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The checks several kinds share (Istio's agent/validation.go and the header, match and destination
 * helpers of validation.go): ports, labels, hosts and addresses, durations, percentages, string
 * matches and regexes, header names and operations, route destinations, gateway names, exportTo. It
 * collects the violations of one object, in the order the checks run.
 */
final class Checks {

  static final Pattern HEADER_NAME = Pattern.compile("^[!#$%&'*+\\-.^_`|~A-Za-z0-9]+$");
  private static final Pattern LABEL_KEY =
      Pattern.compile(
          "^([a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)*/)?"
              + "((?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$");
  private static final Pattern LABEL_VALUE =
      Pattern.compile("^((?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$");
  private static final Set<String> PSEUDO_HEADERS =
      Set.of(":method", ":scheme", ":authority", ":path", ":status");

  private final List<Violation> out = new ArrayList<>();
  private final String namespace;

  Checks(String namespace) {
    this.namespace = namespace;
  }

  /** The namespace of the object, "." in exportTo stands for it. */
  String namespace() {
    return namespace;
  }

  List<Violation> violations() {
    return out;
  }

  void add(Violation v) {
    out.add(v);
  }

  void error(String path, String message) {
    out.add(Violation.error(path, message));
  }

  void warn(String path, String message) {
    out.add(Violation.warning(path, message));
  }

  void headerNameOrClaim(String name, String path) {
    if (name.isEmpty()) {
      error(path, "header name cannot be empty");
    } else if (!name.startsWith("@request.auth.claims")
        && !PSEUDO_HEADERS.contains(name)
        && !HEADER_NAME.matcher(name).matches()) {
      error(path, "header name " + name + " is not a valid header name");
    }
  }

  void stringMatch(JsonNode sm, String where, String path) {
    if (sm.has("prefix") && sm.get("prefix").asText().isEmpty()) {
      error(path, "\"" + where + "\": prefix string match should not be empty");
    } else if (sm.has("regex")) {
      String re = sm.get("regex").asText();
      if (re.isEmpty()) {
        error(path + ".regex", "\"" + where + "\": regex string match should not be empty");
      } else {
        regex(re, where, path + ".regex");
      }
    }
  }

  void regex(String re, String where, String path) {
    if (re.length() > 1024) {
      error(path, "\"" + where + "\": regex is too large, max length allowed is 1024");
      return;
    }
    String problem = Re2.check(re);
    if (problem != null) {
      error(
          path,
          "\""
              + where
              + "\": "
              + problem
              + "; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)");
    }
  }

  void headerOperations(JsonNode headers, String path) {
    for (String dir : List.of("request", "response")) {
      JsonNode ops = headers.path(dir);
      for (String op : List.of("add", "set")) {
        Iterator<Map.Entry<String, JsonNode>> it = ops.path(op).fields();
        while (it.hasNext()) {
          Map.Entry<String, JsonNode> e = it.next();
          String p = path + "." + dir + "." + op + "." + e.getKey();
          String name = e.getKey();
          if (dir.equals("request")) {
            if (name.isEmpty()) {
              error(p, "header name cannot be empty");
            } else if (name.startsWith(":") && !name.equalsIgnoreCase(":authority")) {
              error(p, "invalid header \"" + name + "\": header cannot have \":\" prefix");
            }
          } else {
            headerOperationName(name, p);
          }
          String value = e.getValue().asText();
          if (value.chars().anyMatch(c -> (c < 0x20 && c != '\t') || c == 0x7f)) {
            error(p, "header value configuration " + value + " is invalid");
          }
        }
      }
      JsonNode remove = ops.path("remove");
      for (int i = 0; i < remove.size(); i++) {
        headerOperationName(remove.get(i).asText(), path + "." + dir + ".remove[" + i + "]");
      }
    }
  }

  void headerOperationName(String name, String path) {
    if (name.isEmpty()) {
      error(path, "header name cannot be empty");
    } else if (name.equalsIgnoreCase("host")) {
      error(path, "invalid header \"" + name + "\": cannot set Host header");
    } else if (name.startsWith(":")) {
      error(path, "invalid header \"" + name + "\": header cannot have \":\" prefix");
    }
  }

  void percentage(JsonNode p, String path) {
    if (p.isMissingNode()) {
      return;
    }
    double v = p.path("value").asDouble(0);
    if (v < 0 || v > 100 || (v > 0 && v < 0.0001)) {
      error(path, "percentage " + fmt(v) + " is neither 0.0, nor in range [0.0001, 100.0]");
    }
  }

  void httpStatus(long status, String path) {
    if (status < 200 || status > 600) {
      error(path, "HTTP status " + status + " is not in range 200-599");
    }
  }

  /** HTTP route destinations: as TCP/TLS ones, plus each destination's header operations. */
  void httpRouteDestinations(JsonNode route, String path) {
    routeDestinations(route, path, true);
  }

  void routeDestinations(JsonNode route, String path) {
    routeDestinations(route, path, false);
  }

  private void routeDestinations(JsonNode route, String path, boolean http) {
    long total = 0;
    for (int i = 0; i < route.size(); i++) {
      JsonNode d = route.get(i);
      String p = path + "[" + i + "]";
      if (!d.has("destination")) {
        error(p, "destination is required");
      } else {
        destination(d.get("destination"), p + ".destination");
      }
      if (http) {
        headerOperations(d.path("headers"), p + ".headers");
      }
      long w = d.path("weight").asLong(0);
      if (w < 0) {
        error(p + ".weight", "weight " + w + " < 0");
      }
      total += w;
    }
    if (route.size() > 1 && total == 0) {
      error(path, "total destination weight = 0");
    }
  }

  void destination(JsonNode d, String path) {
    String host = d.path("host").asText("");
    if (host.equals("*")) {
      error(path + ".host", "invalid destination host " + host);
    } else {
      String err = wildcardDomain(host);
      if (err != null) {
        error(path + ".host", err);
      }
    }
    if (d.has("subset")) {
      subsetName(d.get("subset").asText(), path + ".subset");
    }
    if (d.has("port")) {
      port(d.path("port").path("number").asLong(0), path + ".port.number");
    }
  }

  void subsetName(String name, String path) {
    if (name.isEmpty()) {
      error(path, "subset name cannot be empty");
    } else if (!Hosts.isDns1123Label(name)) {
      error(path, "subset name is invalid: " + name);
    }
  }

  void gatewayNames(JsonNode names, String path) {
    for (int i = 0; i < names.size(); i++) {
      String name = names.get(i).asText();
      String p = path + "[" + i + "]";
      int slash = name.indexOf('/');
      if (slash < 0) {
        if (name.contains(".")) {
          String[] parts = name.split("\\.");
          warn(
              p,
              "using legacy gatewayName format \""
                  + name
                  + "\"; prefer the <namespace>/<name> format: \""
                  + parts[1]
                  + "/"
                  + parts[0]
                  + "\"");
        }
        String err = fqdn(name);
        if (err != null) {
          error(p, err);
        }
        continue;
      }
      String ns = name.substring(0, slash);
      String n = name.substring(slash + 1);
      if (ns.isEmpty() || n.isEmpty()) {
        error(p, "config namespace and gateway name cannot be empty");
      }
      if (!Hosts.isDns1123Label(ns)) {
        error(p, "invalid value for namespace: \"" + ns + "\"");
      }
      if (!Hosts.isDns1123Label(n)) {
        error(p, "invalid value for gateway name: \"" + n + "\"");
      }
    }
  }

  void exportTo(JsonNode exportTo, boolean serviceEntry) {
    if (exportTo.isEmpty()) {
      return;
    }
    Set<String> set = new HashSet<>();
    for (int i = 0; i < exportTo.size(); i++) {
      String e = exportTo.get(i).asText();
      String key = e.equals(".") ? namespace : e;
      String p = "spec.exportTo[" + i + "]";
      if (set.contains(key)) {
        error(
            p,
            key.equals(e)
                ? "duplicate entries in exportTo for entry " + e
                : "duplicate entries in exportTo: . and current namespace " + namespace);
      } else if (serviceEntry && e.equals("~")) {
        set.add(key);
      } else if (!key.equals("*") && !Hosts.isDns1123Label(key)) {
        error(p, "only .,* or a valid DNS 1123 label is allowed as exportTo entry");
      } else {
        set.add(key);
      }
    }
    if (set.contains("*") && exportTo.size() > 1) {
      error(
          "spec.exportTo",
          "cannot have both public (*) and non-public exportTo values for a resource");
    }
    if (set.contains("~") && exportTo.size() > 1) {
      error("spec.exportTo", "cannot export service entry to no one (~) and someone");
    }
  }

  void labels(JsonNode labels, String path) {
    Iterator<Map.Entry<String, JsonNode>> it = labels.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      Matcher m = LABEL_KEY.matcher(e.getKey());
      if (!m.matches()) {
        error(path + "." + e.getKey(), "invalid tag key: \"" + e.getKey() + "\"");
      } else if (m.group(1) != null && m.group(1).length() - 1 > 253) {
        error(
            path + "." + e.getKey(),
            "invalid tag key: \"" + e.getKey() + "\" (DNS prefix is too long)");
      } else if (m.group(2).length() > 63) {
        error(
            path + "." + e.getKey(), "invalid tag key: \"" + e.getKey() + "\" (name is too long)");
      }
      if (!LABEL_VALUE.matcher(e.getValue().asText()).matches()) {
        error(path + "." + e.getKey(), "invalid tag value: \"" + e.getValue().asText() + "\"");
      }
    }
  }

  boolean port(long port, String path) {
    if (port >= 1 && port <= 65535) {
      return true;
    }
    error(path, "port number " + port + " must be in the range 1..65535");
    return false;
  }

  void ipSubnet(String s, String path) {
    if (s.chars().filter(c -> c == '/').count() == 1) {
      String[] parts = s.split("/");
      boolean ok = isIp(parts[0]);
      try {
        int bits = Integer.parseInt(parts[1]);
        ok &= bits >= 0 && bits <= (parts[0].contains(":") ? 128 : 32);
      } catch (NumberFormatException e) {
        ok = false;
      }
      if (!ok) {
        error(path, s + " is not a valid CIDR block");
      }
    } else if (!isIp(s)) {
      error(path, s + " is not a valid IP");
    }
  }

  /** Istio's ValidateDuration: at least 1ms, millisecond precision. */
  Optional<Duration> duration(JsonNode n, String path) {
    Optional<Duration> d = GoDuration.parse(n.asText());
    if (d.isEmpty()) {
      error(path, "invalid duration \"" + n.asText() + "\"");
    } else if (d.get().compareTo(Duration.ofMillis(1)) < 0) {
      error(path, "duration must be greater than 1ms");
    } else if (d.get().toNanos() % 1_000_000 != 0) {
      error(path, "only durations to ms precision are supported");
    }
    return d;
  }

  /** Istio's ValidateWildcardDomain; null when valid. */
  static String wildcardDomain(String domain) {
    String pre = dnsPreconditions(domain);
    if (pre != null) {
      return pre;
    }
    int dot = domain.indexOf('.');
    String first = dot < 0 ? domain : domain.substring(0, dot);
    if (!Hosts.isWildcardDns1123Label(first)) {
      return "domain name \"" + domain + "\" invalid (label \"" + first + "\" invalid)";
    }
    return dot < 0 ? null : dnsLabels(domain.substring(dot + 1), domain);
  }

  /** Istio's ValidateFQDN; null when valid. */
  static String fqdn(String name) {
    String pre = dnsPreconditions(name);
    return pre != null ? pre : dnsLabels(name, name);
  }

  private static String dnsPreconditions(String name) {
    if (name.length() > 255) {
      return "domain name \"" + name + "\" too long (max 255)";
    }
    return name.isEmpty() ? "empty domain name not allowed" : null;
  }

  private static String dnsLabels(String domain, String shown) {
    String[] parts = domain.split("\\.", -1);
    String tld = parts[parts.length - 1];
    if (tld.matches("[+-]?\\d+")) {
      return "domain name \""
          + domain
          + "\" invalid (top level domain \""
          + tld
          + "\" cannot be all-numeric)";
    }
    for (int i = 0; i < parts.length; i++) {
      if (i == parts.length - 1 && parts[i].isEmpty()) {
        return null;
      }
      if (!Hosts.isDns1123Label(parts[i])) {
        return "domain name \"" + domain + "\" invalid (label \"" + parts[i] + "\" invalid)";
      }
    }
    return null;
  }

  static boolean isIp(String s) {
    if (s == null || s.isEmpty()) {
      return false;
    }
    if (s.contains(":")) {
      if (!s.matches("[0-9a-fA-F:.]+")) {
        return false;
      }
    } else if (!s.matches("(\\d{1,3}\\.){3}\\d{1,3}")) {
      return false;
    } else {
      for (String o : s.split("\\.")) {
        if (Integer.parseInt(o) > 255 || (o.length() > 1 && o.startsWith("0"))) {
          return false;
        }
      }
    }
    try {
      InetAddress.getByName(s);
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  static boolean contains(JsonNode arr, String v) {
    for (JsonNode n : arr) {
      if (n.asText().equals(v)) {
        return true;
      }
    }
    return false;
  }

  static String goList(JsonNode arr) {
    StringBuilder sb = new StringBuilder("[");
    for (JsonNode n : arr) {
      sb.append(sb.length() > 1 ? " " : "").append(n.asText());
    }
    return sb.append(']').toString();
  }

  private static String fmt(double v) {
    return v == Math.floor(v) && !Double.isInfinite(v)
        ? String.valueOf((long) v)
        : String.valueOf(v);
  }
}
