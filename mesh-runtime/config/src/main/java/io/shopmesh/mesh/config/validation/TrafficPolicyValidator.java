package io.shopmesh.mesh.config.validation;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Set;

/**
 * A DestinationRule traffic policy, top level or per subset (Istio's validateTrafficPolicy):
 * outlier detection, connection pool, load balancer, client TLS, tunnel and proxy protocol.
 */
final class TrafficPolicyValidator {

  private final Checks checks;

  TrafficPolicyValidator(Checks checks) {
    this.checks = checks;
  }

  void validate(JsonNode tp, String path) {
    if (tp.isMissingNode() || tp.isNull()) {
      return;
    }
    if (!(tp.has("outlierDetection")
        || tp.has("connectionPool")
        || tp.has("loadBalancer")
        || tp.has("tls")
        || tp.has("portLevelSettings")
        || tp.has("tunnel")
        || tp.has("proxyProtocol")
        || tp.has("retryBudget"))) {
      checks.error(path, "traffic policy must have at least one field");
      return;
    }
    if (tp.has("tunnel") && tp.has("proxyProtocol")) {
      checks.error(path, "tunnel and proxyProtocol must not be set together");
      return;
    }
    outlierDetection(tp.path("outlierDetection"), path + ".outlierDetection");
    connectionPool(tp.path("connectionPool"), path + ".connectionPool");
    loadBalancer(tp.path("loadBalancer"), path + ".loadBalancer");
    clientTls(tp.path("tls"), path + ".tls");
    JsonNode pls = tp.path("portLevelSettings");
    for (int i = 0; i < pls.size(); i++) {
      JsonNode t = pls.get(i);
      String p = path + ".portLevelSettings[" + i + "]";
      if (!t.has("port")) {
        checks.error(p, "portTrafficPolicy must have valid port");
      }
      if (!(t.has("outlierDetection")
          || t.has("connectionPool")
          || t.has("loadBalancer")
          || t.has("tls"))) {
        checks.error(p, "port traffic policy must have at least one field");
      } else {
        outlierDetection(t.path("outlierDetection"), p + ".outlierDetection");
        connectionPool(t.path("connectionPool"), p + ".connectionPool");
        loadBalancer(t.path("loadBalancer"), p + ".loadBalancer");
        clientTls(t.path("tls"), p + ".tls");
      }
    }
    JsonNode tunnel = tp.path("tunnel");
    if (!tunnel.isMissingNode()) {
      String proto = tunnel.path("protocol").asText("");
      if (!proto.isEmpty() && !proto.equals("CONNECT") && !proto.equals("POST")) {
        checks.error(path + ".tunnel.protocol", "tunnel protocol must be \"CONNECT\" or \"POST\"");
      }
      String target = tunnel.path("targetHost").asText("");
      String fe = Checks.fqdn(target);
      if (fe != null && !Checks.isIp(target)) {
        checks.error(
            path + ".tunnel.targetHost",
            "tunnel target host must be valid FQDN or IP address: "
                + fe
                + "; "
                + target
                + " is not a valid IP");
      }
      long tport = tunnel.path("targetPort").asLong(0);
      if (tport < 1 || tport > 65535) {
        checks.error(
            path + ".tunnel.targetPort",
            "tunnel target port is invalid: port number "
                + tport
                + " must be in the range 1..65535");
      }
    }
    JsonNode pp = tp.path("proxyProtocol");
    if (!pp.isMissingNode()
        && pp.has("version")
        && !Set.of("V1", "V2").contains(pp.get("version").asText())) {
      checks.error(
          path + ".proxyProtocol.version",
          "proxy protocol version is invalid: " + pp.get("version").asText());
    }
  }

  private void outlierDetection(JsonNode o, String path) {
    if (o.isMissingNode()) {
      return;
    }
    if (o.has("baseEjectionTime")) {
      checks.duration(o.get("baseEjectionTime"), path + ".baseEjectionTime");
    }
    if (o.path("consecutiveErrors").asLong(0) != 0) {
      checks.warn(
          path + ".consecutiveErrors",
          "outlier detection consecutive errors is deprecated, use"
              + " consecutiveGatewayErrors or consecutive5xxErrors instead");
    }
    if (!o.path("splitExternalLocalOriginErrors").asBoolean(false)
        && o.path("consecutiveLocalOriginFailures").asLong(0) > 0) {
      checks.error(
          path,
          "outlier detection consecutive local origin failures is specified, but split external local"
              + " origin errors is set to false");
    }
    if (o.has("interval")) {
      checks.duration(o.get("interval"), path + ".interval");
    }
    for (String f : List.of("maxEjectionPercent", "minHealthPercent")) {
      long v = o.path(f).asLong(0);
      if (v < 0 || v > 100) {
        checks.error(path + "." + f, "percentage " + v + " is not in range 0..100");
      }
    }
  }

  private void connectionPool(JsonNode c, String path) {
    if (c.isMissingNode()) {
      return;
    }
    if (!c.has("http") && !c.has("tcp")) {
      checks.error(path, "connection pool must have at least one field");
      return;
    }
    JsonNode h = c.path("http");
    nonNegative(
        h,
        "http1MaxPendingRequests",
        path + ".http",
        "http1 max pending requests must be non-negative");
    nonNegative(h, "http2MaxRequests", path + ".http", "http2 max requests must be non-negative");
    nonNegative(
        h,
        "maxRequestsPerConnection",
        path + ".http",
        "max requests per connection must be non-negative");
    nonNegative(h, "maxRetries", path + ".http", "max retries must be non-negative");
    nonNegative(
        h, "maxConcurrentStreams", path + ".http", "max concurrent streams must be non-negative");
    if (h.has("idleTimeout")) {
      checks.duration(h.get("idleTimeout"), path + ".http.idleTimeout");
    }
    if (h.path("h2UpgradePolicy").asText("").equals("UPGRADE")
        && h.path("useClientProtocol").asBoolean(false)) {
      checks.error(
          path + ".http", "use client protocol must not be true when H2UpgradePolicy is UPGRADE");
    }
    JsonNode ka = h.path("http2KeepAlive");
    if (!ka.isMissingNode()) {
      if (!ka.has("interval")) {
        checks.error(path + ".http.http2KeepAlive", "http2 keepalive interval is required");
      } else {
        checks.duration(ka.get("interval"), path + ".http.http2KeepAlive.interval");
      }
      if (!ka.has("timeout")) {
        checks.error(path + ".http.http2KeepAlive", "http2 keepalive timeout is required");
      } else {
        checks.duration(ka.get("timeout"), path + ".http.http2KeepAlive.timeout");
      }
    }
    JsonNode t = c.path("tcp");
    nonNegative(t, "maxConnections", path + ".tcp", "max connections must be non-negative");
    for (String f : List.of("connectTimeout", "maxConnectionDuration")) {
      if (t.has(f)) {
        checks.duration(t.get(f), path + ".tcp." + f);
      }
    }
    if (t.has("idleTimeout")
        && GoDuration.parse(t.get("idleTimeout").asText()).map(d -> !d.isZero()).orElse(true)) {
      checks.duration(t.get("idleTimeout"), path + ".tcp.idleTimeout");
    }
    for (String f : List.of("time", "interval")) {
      if (t.path("tcpKeepalive").has(f)) {
        checks.duration(t.path("tcpKeepalive").get(f), path + ".tcp.tcpKeepalive." + f);
      }
    }
  }

  private void nonNegative(JsonNode n, String field, String path, String message) {
    if (n.path(field).asLong(0) < 0) {
      checks.error(path + "." + field, message);
    }
  }

  private void loadBalancer(JsonNode lb, String path) {
    if (lb.isMissingNode()) {
      return;
    }
    JsonNode ch = lb.path("consistentHash");
    if (!ch.isMissingNode()) {
      JsonNode cookie = ch.path("httpCookie");
      if (!cookie.isMissingNode() && cookie.path("name").asText("").isEmpty()) {
        checks.error(path + ".consistentHash.httpCookie", "name required for HttpCookie");
      }
      if (ch.path("minimumRingSize").asLong(0) != 0) {
        checks.warn(
            path + ".consistentHash.minimumRingSize",
            "consistent hash MinimumRingSize is deprecated, use"
                + " ConsistentHashLB's RingHash configuration instead");
        if (ch.has("ringHash") || ch.has("maglev")) {
          checks.error(
              path + ".consistentHash",
              "only one of MinimumRingSize or Maglev/Ringhash can be specified");
        }
      }
      JsonNode ml = ch.path("maglev");
      if (!ml.isMissingNode()) {
        long size = ml.path("tableSize").asLong(0);
        if (size == 0) {
          checks.error(
              path + ".consistentHash.maglev.tableSize", "tableSize must be set for maglev");
        }
        if (size >= 5000011) {
          checks.error(
              path + ".consistentHash.maglev.tableSize",
              "tableSize must be less than 5000011 for maglev");
        }
        if (!isPrime(size)) {
          checks.error(
              path + ".consistentHash.maglev.tableSize",
              "tableSize must be a prime number for maglev");
        }
      }
    }
    if (lb.has("localityLbSetting") && lb.has("zoneAwareLbSetting")) {
      checks.error(path, "only one of localityLbSetting and zoneAwareLbSetting can be set");
    }
    JsonNode warm = lb.path("warmup");
    if (!warm.isMissingNode()) {
      if (!warm.has("duration")) {
        checks.error(path + ".warmup.duration", "duration is required");
      } else {
        checks.duration(warm.get("duration"), path + ".warmup.duration");
      }
      if (warm.path("minimumPercent").asDouble(0) > 100) {
        checks.error(
            path + ".warmup.minimumPercent",
            "minimumPercent value should be less than or equal to 100");
      }
      if (warm.has("aggression") && warm.path("aggression").asDouble(0) <= 0) {
        checks.error(path + ".warmup.aggression", "aggression should be greater than 0");
      }
    }
  }

  private static boolean isPrime(long x) {
    if (x != 0 && x < 4) {
      return true;
    } else if ((x & 1) == 0) {
      return false;
    }
    for (long f = 3; f * f <= x; f += 2) {
      if (x % f == 0) {
        return false;
      }
    }
    return true;
  }

  private void clientTls(JsonNode tls, String path) {
    if (tls.isMissingNode()) {
      return;
    }
    String mode = tls.path("mode").asText("DISABLE");
    boolean hasCred = !tls.path("credentialName").asText("").isEmpty();
    if (tls.path("insecureSkipVerify").asBoolean(false)) {
      if (mode.equals("SIMPLE")
          && (!tls.path("caCertificates").asText("").isEmpty()
              || hasCred
              || tls.has("subjectAltNames"))) {
        checks.error(
            path,
            "cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true");
      }
      if (mode.equals("MUTUAL")
          && (!tls.path("caCertificates").asText("").isEmpty() || tls.has("subjectAltNames"))) {
        checks.error(
            path,
            "cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true");
      }
    }
    if ((mode.equals("SIMPLE") || mode.equals("MUTUAL")) && hasCred) {
      if (!tls.path("clientCertificate").asText("").isEmpty()
          || !tls.path("caCertificates").asText("").isEmpty()
          || !tls.path("privateKey").asText("").isEmpty()
          || !tls.path("caCrl").asText("").isEmpty()) {
        checks.error(
            path,
            "cannot specify client certificates or CA certificate or CA CRL If credentialName is set");
      }
      return;
    }
    if (mode.equals("MUTUAL")) {
      if (tls.path("clientCertificate").asText("").isEmpty()) {
        checks.error(path, "client certificate required for mutual tls");
      }
      if (tls.path("privateKey").asText("").isEmpty()) {
        checks.error(path, "private key required for mutual tls");
      }
    }
  }
}
