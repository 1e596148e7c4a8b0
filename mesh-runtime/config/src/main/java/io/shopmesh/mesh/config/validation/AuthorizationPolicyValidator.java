package io.shopmesh.mesh.config.validation;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Set;

/**
 * Istio's ValidateAuthorizationPolicy (pilot's config validation): the rule shapes, values and
 * {@code when} keys it rejects, with its messages; plus its warning for a DENY rule that only uses
 * HTTP attributes (it then denies all TCP traffic in its scope).
 */
final class AuthorizationPolicyValidator {

  private static final Set<String> WHEN_KEYS =
      Set.of(
          "source.ip",
          "remote.ip",
          "source.namespace",
          "source.serviceAccount",
          "source.trustDomain",
          "source.principal",
          "request.auth.principal",
          "request.auth.audiences",
          "request.auth.presenter",
          "destination.ip",
          "destination.port",
          "connection.sni");

  private final Checks checks;

  AuthorizationPolicyValidator(Checks checks) {
    this.checks = checks;
  }

  void validate(JsonNode spec) {
    String action = spec.path("action").asText("ALLOW");
    JsonNode rules = spec.get("rules");
    boolean hasSelector = spec.has("selector");
    int selectors =
        (hasSelector ? 1 : 0) + (spec.has("targetRef") ? 1 : 0) + (spec.has("targetRefs") ? 1 : 0);
    if (selectors > 1) {
      checks.error("spec", "only one of targetRefs or workloadSelector can be set");
    }
    if (action.equals("CUSTOM")) {
      if (rules == null) {
        checks.error(
            "spec.rules",
            "CUSTOM action without `rules` is meaningless as it will never be triggered, "
                + "add an empty rule `{}` if you want it be triggered for every request");
      } else if (spec.path("provider").path("name").asText("").isEmpty()) {
        checks.error("spec.provider", "`provider.name` must not be empty");
      }
    }
    if (spec.has("provider") && !action.equals("CUSTOM")) {
      checks.error(
          "spec.provider", "`provider` must not be with non CUSTOM action, found " + action);
    }
    if (action.equals("DENY") && rules == null) {
      checks.error(
          "spec.rules",
          "DENY action without `rules` is meaningless as it will never be triggered, "
              + "add an empty rule `{}` if you want it be triggered for every request");
    }
    if (rules == null) {
      return;
    }
    for (int i = 0; i < rules.size(); i++) {
      rule(rules.get(i), i, action);
    }
  }

  private void rule(JsonNode rule, int i, String action) {
    String path = "spec.rules[" + i + "]";
    if (rule == null || rule.isNull()) {
      checks.error(path, "`rule` must not be nil, found at rule " + i);
      return;
    }
    boolean tcpInFrom = false;
    boolean tcpInTo = false;
    boolean fromExists = false;
    boolean toExists = false;
    JsonNode from = rule.get("from");
    if (from != null && from.isArray() && from.isEmpty()) {
      checks.error(path + ".from", "`from` must not be empty, found at rule " + i);
    }
    for (int j = 0; from != null && j < from.size(); j++) {
      JsonNode src = from.get(j).get("source");
      String p = path + ".from[" + j + "].source";
      if (src == null || src.isNull()) {
        checks.error(p, "`from.source` must not be nil, found at rule " + i);
        continue;
      }
      fromExists = true;
      if (count(src, "principals", "notPrincipals", "namespaces", "notNamespaces") > 0
          && count(src, "serviceAccounts", "notServiceAccounts") > 0) {
        checks.error(
            p, "cannot set serviceAccounts with namespaces or principals, found at rule " + i);
      }
      if (src.isEmpty()) {
        checks.error(p, "`from.source` must not be empty, found at rule " + i);
      }
      for (String f : List.of("ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks")) {
        ips(src.path(f), p + "." + f);
      }
      for (String f :
          List.of(
              "principals",
              "requestPrincipals",
              "namespaces",
              "ipBlocks",
              "remoteIpBlocks",
              "notPrincipals",
              "notRequestPrincipals",
              "notNamespaces",
              "notIpBlocks",
              "notRemoteIpBlocks")) {
        nonEmpty(src.path(f), capitalize(f), p + "." + f);
      }
      for (String f : List.of("serviceAccounts", "notServiceAccounts")) {
        serviceAccounts(src.path(f), capitalize(f), p + "." + f);
      }
      tcpInFrom |=
          count(
                  src,
                  "principals",
                  "notPrincipals",
                  "ipBlocks",
                  "notIpBlocks",
                  "namespaces",
                  "notNamespaces",
                  "remoteIpBlocks",
                  "notRemoteIpBlocks",
                  "serviceAccounts",
                  "notServiceAccounts")
              > 0;
    }
    JsonNode to = rule.get("to");
    if (to != null && to.isArray() && to.isEmpty()) {
      checks.error(path + ".to", "`to` must not be empty, found at rule " + i);
    }
    for (int j = 0; to != null && j < to.size(); j++) {
      JsonNode op = to.get(j).get("operation");
      String p = path + ".to[" + j + "].operation";
      if (op == null || op.isNull()) {
        checks.error(p, "`to.operation` must not be nil, found at rule " + i);
        continue;
      }
      toExists = true;
      if (op.isEmpty()) {
        checks.error(p, "`to.operation` must not be empty, found at rule " + i);
      }
      for (String f : List.of("ports", "notPorts")) {
        for (JsonNode v : op.path(f)) {
          if (!validPort(v.asText())) {
            checks.error(p + "." + f, "bad port (" + v.asText() + ")");
          }
        }
      }
      for (String f :
          List.of(
              "ports",
              "methods",
              "paths",
              "hosts",
              "notPorts",
              "notMethods",
              "notPaths",
              "notHosts")) {
        nonEmpty(op.path(f), capitalize(f), p + "." + f);
      }
      tcpInTo |= op.has("ports") || op.has("notPorts");
    }
    JsonNode when = rule.path("when");
    for (int j = 0; j < when.size(); j++) {
      JsonNode c = when.get(j);
      String p = path + ".when[" + j + "]";
      String key = c.path("key").asText("");
      if (key.isEmpty()) {
        checks.error(p + ".key", "`key` must not be empty");
        continue;
      }
      if (c.path("values").isEmpty() && c.path("notValues").isEmpty()) {
        checks.error(p, "at least one of `values` or `notValues` must be set for key " + key);
        continue;
      }
      String problem = attribute(key, c.path("values"));
      if (problem != null) {
        checks.error(p + ".values", "invalid `value` for `key` " + key + ": " + problem);
      }
      problem = attribute(key, c.path("notValues"));
      if (problem != null) {
        checks.error(p + ".notValues", "invalid `notValue` for `key` " + key + ": " + problem);
      }
    }
    if (((fromExists && !toExists && !tcpInFrom) || (toExists && !tcpInTo))
        && action.equals("DENY")) {
      checks.warn(
          path,
          "configured AuthorizationPolicy will deny all traffic to TCP ports under its scope due"
              + " to the use of only HTTP attributes in a DENY rule; it is recommended to"
              + " explicitly specify the port");
    }
  }

  /** Istio's ValidateAttribute: the value check per key; null when valid. */
  private static String attribute(String key, JsonNode values) {
    for (JsonNode v : values) {
      if (v.asText().isEmpty()) {
        return "empty value not allowed, found in " + key;
      }
    }
    if (key.startsWith("request.headers") || key.startsWith("request.auth.claims")) {
      int open = key.indexOf('[');
      return key.endsWith("]") && open > 0 && open < key.length() - 2
          ? null
          : "bad key (" + key + "): should have format a[b]";
    }
    if (key.startsWith("experimental.envoy.filters.")) {
      return null;
    }
    if (!WHEN_KEYS.contains(key)) {
      return "unknown attribute: " + key;
    }
    if (Set.of("source.ip", "remote.ip", "destination.ip").contains(key)) {
      for (JsonNode v : values) {
        if (!validIp(v.asText())) {
          return "bad IP address (" + v.asText() + ")";
        }
      }
    }
    if (key.equals("destination.port")) {
      for (JsonNode v : values) {
        if (!validPort(v.asText())) {
          return "bad port (" + v.asText() + ")";
        }
      }
    }
    return null;
  }

  private void ips(JsonNode values, String path) {
    for (JsonNode v : values) {
      String s = v.asText();
      if (!validIp(s)) {
        checks.error(
            path, s.contains("/") ? "bad CIDR range (" + s + ")" : "bad IP address (" + s + ")");
      }
    }
  }

  private void nonEmpty(JsonNode values, String key, String path) {
    for (JsonNode v : values) {
      if (v.asText().isEmpty()) {
        checks.error(path, "empty value not allowed, found in " + key);
        return;
      }
    }
  }

  private void serviceAccounts(JsonNode values, String key, String path) {
    if (values.size() > 16) {
      checks.error(path, "may not have more than 16 values");
      return;
    }
    for (JsonNode v : values) {
      String s = v.asText();
      if (s.isEmpty()) {
        checks.error(path, "empty value not allowed, found in " + key);
        return;
      }
      if (s.contains("*")) {
        checks.error(path, "wildcard not allowed, found in " + key);
        return;
      }
      if (s.chars().filter(c -> c == '/').count() > 1) {
        checks.error(
            path,
            "expected format 'serviceAccount' or 'namespace/serviceAccount', found \""
                + s
                + "\" in "
                + key);
        return;
      }
    }
  }

  static boolean validIp(String s) {
    String addr = s;
    int bits = -1;
    int slash = s.indexOf('/');
    if (slash >= 0) {
      addr = s.substring(0, slash);
      try {
        bits = Integer.parseInt(s.substring(slash + 1));
      } catch (NumberFormatException e) {
        return false;
      }
    }
    boolean v4 = addr.matches("\\d{1,3}(\\.\\d{1,3}){3}");
    if (!v4 && !(addr.contains(":") && addr.matches("[0-9a-fA-F:.]+"))) {
      return false;
    }
    try {
      int len = InetAddress.getByName(addr).getAddress().length * 8;
      return bits <= len;
    } catch (UnknownHostException e) {
      return false;
    }
  }

  static boolean validPort(String s) {
    try {
      long p = Long.parseLong(s);
      return p >= 0 && p <= 65535;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static int count(JsonNode src, String... fields) {
    int n = 0;
    for (String f : fields) {
      n += src.path(f).size();
    }
    return n;
  }

  private static String capitalize(String s) {
    return Character.toUpperCase(s.charAt(0)) + s.substring(1);
  }
}
