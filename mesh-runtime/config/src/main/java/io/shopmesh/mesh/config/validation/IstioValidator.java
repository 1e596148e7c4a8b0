package io.shopmesh.mesh.config.validation;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.re2j.PatternSyntaxException;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.Hosts;
import io.shopmesh.mesh.config.Protocol;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The checks of Istio's validating webhook (pkg/config/validation) for VirtualService,
 * DestinationRule, Gateway and ServiceEntry, with Istio's wording. Runs after the CRD schema checks
 * have passed, as the webhook does behind the API server.
 */
public final class IstioValidator {

  private static final Pattern HEADER_NAME = Pattern.compile("^[!#$%&'*+\\-.^_`|~A-Za-z0-9]+$");
  private static final Pattern LABEL_KEY =
      Pattern.compile(
          "^([a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)*/)?"
              + "((?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$");
  private static final Pattern LABEL_VALUE =
      Pattern.compile("^((?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$");
  private static final Set<String> RETRY_ON =
      Set.of(
          "5xx",
          "gateway-error",
          "reset",
          "reset-before-request",
          "connect-failure",
          "retriable-4xx",
          "refused-stream",
          "retriable-status-codes",
          "retriable-headers",
          "envoy-ratelimited",
          "http3-post-connect-failure",
          "cancelled",
          "deadline-exceeded",
          "internal",
          "resource-exhausted",
          "unavailable");
  private static final Set<String> PSEUDO_HEADERS =
      Set.of(":method", ":scheme", ":authority", ":path", ":status");
  private static final Set<String> CORS_METHODS =
      Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH");
  private static final Set<String> GRPC_STATUS =
      Set.of(
          "OK",
          "CANCELLED",
          "UNKNOWN",
          "INVALID_ARGUMENT",
          "DEADLINE_EXCEEDED",
          "NOT_FOUND",
          "ALREADY_EXISTS",
          "PERMISSION_DENIED",
          "RESOURCE_EXHAUSTED",
          "FAILED_PRECONDITION",
          "ABORTED",
          "OUT_OF_RANGE",
          "UNIMPLEMENTED",
          "INTERNAL",
          "UNAVAILABLE",
          "DATA_LOSS",
          "UNAUTHENTICATED");

  private final List<Violation> out = new ArrayList<>();
  private final String namespace;

  private IstioValidator(String namespace) {
    this.namespace = namespace;
  }

  /** Webhook checks for one object; {@code object} is the whole resource (metadata and spec). */
  public static List<Violation> validate(String kind, JsonNode object) {
    String ns = object.path("metadata").path("namespace").asText("default");
    IstioValidator v = new IstioValidator(ns.isEmpty() ? "default" : ns);
    JsonNode spec = object.path("spec");
    switch (kind) {
      case "VirtualService" -> v.virtualService(spec);
      case "DestinationRule" -> v.destinationRule(spec);
      case "Gateway" -> v.gateway(object.path("metadata").path("name").asText(""), spec);
      case "ServiceEntry" -> v.serviceEntry(spec);
      default -> {}
    }
    return v.out;
  }

  private void error(String path, String message) {
    out.add(Violation.error(path, message));
  }

  private void warn(String path, String message) {
    out.add(Violation.warning(path, message));
  }

  // ---------------------------------------------------------------- VirtualService

  private void virtualService(JsonNode spec) {
    JsonNode hosts = spec.path("hosts");
    JsonNode gateways = spec.path("gateways");
    if (hosts.isEmpty()) {
      // no hosts: a delegate VirtualService
      if (!gateways.isEmpty()) {
        error("spec.gateways", "delegate virtual service must have no gateways specified");
      }
      if (!spec.path("tls").isEmpty()) {
        error("spec.tls", "delegate virtual service must have no tls route specified");
      }
      if (!spec.path("tcp").isEmpty()) {
        error("spec.tcp", "delegate virtual service must have no tcp route specified");
      }
    }
    boolean appliesToGateway = false;
    if (!gateways.isEmpty()) {
      gatewayNames(gateways, "spec.gateways");
      appliesToGateway = !contains(gateways, "mesh");
    }
    boolean appliesToMesh = !appliesToGateway;
    boolean allHostsValid = true;
    for (int i = 0; i < hosts.size(); i++) {
      String h = hosts.get(i).asText();
      String p = "spec.hosts[" + i + "]";
      String err = wildcardDomain(h);
      if (err != null) {
        if (!isIp(h)) {
          error(p, err);
          allHostsValid = false;
        }
      } else if (appliesToMesh && h.equals("*")) {
        error(p, "wildcard host * is not allowed for virtual services bound to the mesh gateway");
        allHostsValid = false;
      }
    }
    if (allHostsValid) {
      for (int i = 0; i < hosts.size(); i++) {
        for (int j = i + 1; j < hosts.size(); j++) {
          String a = hosts.get(i).asText();
          String b = hosts.get(j).asText();
          if (Hosts.matches(a, b)) {
            error("spec.hosts[" + j + "]", "duplicate hosts in virtual service: " + a + " & " + b);
          }
        }
      }
    }
    if (spec.path("http").isEmpty() && spec.path("tcp").isEmpty() && spec.path("tls").isEmpty()) {
      error("spec", "http, tcp or tls must be provided in virtual service");
    }
    JsonNode http = spec.path("http");
    for (int i = 0; i < http.size(); i++) {
      if (appliesToMesh) {
        jwtClaimRoutes(http.get(i), "spec.http[" + i + "]", gateways);
      }
      httpRoute(http.get(i), "spec.http[" + i + "]", hosts.isEmpty());
    }
    JsonNode tls = spec.path("tls");
    for (int i = 0; i < tls.size(); i++) {
      tlsRoute(tls.get(i), "spec.tls[" + i + "]", spec, appliesToGateway);
    }
    JsonNode tcp = spec.path("tcp");
    for (int i = 0; i < tcp.size(); i++) {
      String p = "spec.tcp[" + i + "]";
      JsonNode m = tcp.get(i).path("match");
      for (int j = 0; j < m.size(); j++) {
        l4Match(m.get(j), p + ".match[" + j + "]");
      }
      if (tcp.get(i).path("route").isEmpty()) {
        error(p + ".route", "TCP route is required");
      }
      routeDestinations(tcp.get(i).path("route"), p + ".route");
    }
    exportTo(spec.path("exportTo"), false);
    UnreachableRules.analyze(spec, this::warnUnused, this::warnIneffective);
  }

  private void warnUnused(String path, String ruleno, String reason) {
    out.add(
        new Violation(
            path,
            "VirtualService rule " + ruleno + " not used (" + reason + ").",
            Diagnostic.Level.WARNING,
            "IST0130"));
  }

  private void warnIneffective(String path, String ruleno, String matchno, String dupno) {
    out.add(
        new Violation(
            path,
            "VirtualService rule "
                + ruleno
                + " match "
                + matchno
                + " is not used (duplicate/overlapping match in rule "
                + dupno
                + ").",
            Diagnostic.Level.INFO,
            "IST0131"));
  }

  private void jwtClaimRoutes(JsonNode route, String path, JsonNode gateways) {
    JsonNode matches = route.path("match");
    for (int j = 0; j < matches.size(); j++) {
      for (String field : List.of("headers", "withoutHeaders")) {
        Iterator<String> names = matches.get(j).path(field).fieldNames();
        while (names.hasNext()) {
          String key = names.next();
          if (key.startsWith("@request.auth.claims")) {
            error(
                path + ".match[" + j + "]." + field + "." + key,
                "JWT claim based routing (key: "
                    + key
                    + ") is only supported for gateway, found no gateways: "
                    + goList(gateways));
          }
        }
      }
    }
  }

  private void httpRoute(JsonNode r, String path, boolean delegate) {
    boolean root = !delegate && r.has("delegate");
    if (root) {
      if (r.has("redirect")) {
        error(
            path + ".redirect",
            "root HTTP route " + r.path("name").asText("") + " must not specify redirect");
      }
      if (r.has("route")) {
        error(
            path + ".route",
            "root HTTP route " + r.path("name").asText("") + " must not specify route");
      }
    } else {
      if (delegate && r.has("delegate")) {
        error(path + ".delegate", "delegate HTTP route cannot contain delegate");
      }
      if (r.has("redirect")) {
        if (!r.path("route").isEmpty()) {
          error(path, "HTTP route cannot contain both route and redirect");
        }
        if (r.has("fault")) {
          error(path, "HTTP route cannot contain both fault and redirect");
        }
        if (r.has("rewrite")) {
          error(path, "HTTP route rule cannot contain both rewrite and redirect");
        }
        if (r.has("directResponse")) {
          error(path, "HTTP route rule cannot contain both direct_response and redirect");
        }
      } else if (r.has("directResponse")) {
        if (!r.path("route").isEmpty()) {
          error(path, "HTTP route cannot contain both route and direct_response");
        }
        if (r.has("fault")) {
          error(path, "HTTP route cannot contain both fault and direct_response");
        }
        if (r.has("rewrite")) {
          error(path, "HTTP route rule cannot contain both rewrite and direct_response");
        }
      } else if (r.path("route").isEmpty()) {
        error(path, "HTTP route, redirect or direct_response is required");
      }
      if (r.has("mirror") && !r.path("mirrors").isEmpty()) {
        error(path, "HTTP route cannot contain both mirror and mirrors");
      }
    }
    JsonNode matches = r.path("match");
    for (int j = 0; j < matches.size(); j++) {
      httpMatch(matches.get(j), path + ".match[" + j + "]");
    }
    headerOperations(r.path("headers"), path + ".headers");
    cors(r.path("corsPolicy"), path + ".corsPolicy");
    fault(r.path("fault"), path + ".fault");
    if (r.has("mirrorPercent")) {
      if (r.get("mirrorPercent").asLong() > 100) {
        error(
            path + ".mirrorPercent",
            "mirror_percent must have a max value of 100 (it has "
                + r.get("mirrorPercent").asLong()
                + ")");
      }
      warn(
          path + ".mirrorPercent",
          "using deprecated setting \"mirrorPercent\", use \"mirrorPercentage\" instead");
    }
    if (r.has("mirrorPercentage")) {
      double v = r.path("mirrorPercentage").path("value").asDouble(0);
      if (v > 100) {
        error(
            path + ".mirrorPercentage",
            String.format("mirror_percentage must have a max value of 100 (it has %f)", v));
      }
      if (v < 0) {
        error(
            path + ".mirrorPercentage",
            String.format("mirror_percentage must have a min value of 0 (it has %f)", v));
      }
    }
    if (r.has("mirror")) {
      destination(r.get("mirror"), path + ".mirror");
    }
    JsonNode mirrors = r.path("mirrors");
    for (int i = 0; i < mirrors.size(); i++) {
      String p = path + ".mirrors[" + i + "]";
      if (!mirrors.get(i).has("destination")) {
        error(p, "destination is required for mirrors");
        continue;
      }
      destination(mirrors.get(i).get("destination"), p + ".destination");
      double v = mirrors.get(i).path("percentage").path("value").asDouble(0);
      if (v > 100) {
        error(
            p + ".percentage",
            String.format("mirror percentage must have a max value of 100 (it has %f)", v));
      }
      if (v < 0) {
        error(
            p + ".percentage",
            String.format("mirror percentage must have a min value of 0 (it has %f)", v));
      }
    }
    redirect(r.path("redirect"), matches, path + ".redirect");
    directResponse(r.path("directResponse"), path + ".directResponse");
    retries(r.path("retries"), path + ".retries");
    rewrite(r.path("rewrite"), path + ".rewrite");
    httpRouteDestinations(r.path("route"), path + ".route");
    if (r.has("timeout")) {
      duration(r.get("timeout"), path + ".timeout");
    }
  }

  private void httpMatch(JsonNode m, String path) {
    Iterator<Map.Entry<String, JsonNode>> hs = m.path("headers").fields();
    while (hs.hasNext()) {
      Map.Entry<String, JsonNode> e = hs.next();
      String p = path + ".headers." + e.getKey();
      if (e.getValue().isNull()) {
        error(p, "header match " + e.getKey() + " cannot be null");
      }
      headerNameOrClaim(e.getKey(), p);
      stringMatch(e.getValue(), "headers", p);
    }
    Iterator<Map.Entry<String, JsonNode>> wh = m.path("withoutHeaders").fields();
    while (wh.hasNext()) {
      Map.Entry<String, JsonNode> e = wh.next();
      String p = path + ".withoutHeaders." + e.getKey();
      headerNameOrClaim(e.getKey(), p);
      if (!e.getValue().path("regex").asText("").equals("*")) {
        stringMatch(e.getValue(), "withoutHeaders", p);
      }
    }
    if (m.has("uri") && m.get("uri").has("regex")) {
      stringMatch(m.get("uri"), "uri", path + ".uri");
    }
    for (String f : List.of("scheme", "method", "authority")) {
      if (m.has(f)) {
        stringMatch(m.get(f), f, path + "." + f);
      }
    }
    Iterator<Map.Entry<String, JsonNode>> qs = m.path("queryParams").fields();
    while (qs.hasNext()) {
      Map.Entry<String, JsonNode> e = qs.next();
      stringMatch(e.getValue(), "queryParams", path + ".queryParams." + e.getKey());
    }
    if (m.has("port") && m.get("port").asLong() != 0) {
      port(m.get("port").asLong(), path + ".port");
    }
    labels(m.path("sourceLabels"), path + ".sourceLabels");
    gatewayNames(m.path("gateways"), path + ".gateways");
    if (m.has("sourceNamespace")
        && !m.get("sourceNamespace").asText().isEmpty()
        && !Hosts.isDns1123Label(m.get("sourceNamespace").asText())) {
      error(
          path + ".sourceNamespace",
          "sourceNamespace match " + m.get("sourceNamespace").asText() + " is invalid");
    }
  }

  private void headerNameOrClaim(String name, String path) {
    if (name.isEmpty()) {
      error(path, "header name cannot be empty");
    } else if (!name.startsWith("@request.auth.claims")
        && !PSEUDO_HEADERS.contains(name)
        && !HEADER_NAME.matcher(name).matches()) {
      error(path, "header name " + name + " is not a valid header name");
    }
  }

  private void stringMatch(JsonNode sm, String where, String path) {
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

  private void regex(String re, String where, String path) {
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

  private void headerOperations(JsonNode headers, String path) {
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

  private void headerOperationName(String name, String path) {
    if (name.isEmpty()) {
      error(path, "header name cannot be empty");
    } else if (name.equalsIgnoreCase("host")) {
      error(path, "invalid header \"" + name + "\": cannot set Host header");
    } else if (name.startsWith(":")) {
      error(path, "invalid header \"" + name + "\": header cannot have \":\" prefix");
    }
  }

  private void cors(JsonNode c, String path) {
    if (c.isMissingNode()) {
      return;
    }
    JsonNode origins = c.path("allowOrigins");
    for (int i = 0; i < origins.size(); i++) {
      JsonNode o = origins.get(i);
      String m =
          o.has("exact")
              ? o.get("exact").asText()
              : o.has("prefix") ? o.get("prefix").asText() : o.path("regex").asText("");
      if (m.isEmpty()) {
        error(
            path + ".allowOrigins[" + i + "]",
            "'' is not a valid match type for CORS allow origins");
      } else if (o.has("regex")) {
        regex(m, "corsPolicy.allowOrigins", path + ".allowOrigins[" + i + "].regex");
      }
    }
    JsonNode methods = c.path("allowMethods");
    for (int i = 0; i < methods.size(); i++) {
      if (!CORS_METHODS.contains(methods.get(i).asText())) {
        error(
            path + ".allowMethods[" + i + "]",
            "\"" + methods.get(i).asText() + "\" is not a supported HTTP method");
      }
    }
    for (String f : List.of("allowHeaders", "exposeHeaders")) {
      JsonNode hs = c.path(f);
      for (int i = 0; i < hs.size(); i++) {
        String h = hs.get(i).asText();
        if (h.isEmpty()) {
          error(path + "." + f + "[" + i + "]", "header name cannot be empty");
        } else if (!h.equals("*") && !HEADER_NAME.matcher(h).matches()) {
          error(path + "." + f + "[" + i + "]", "header name " + h + " is not a valid header name");
        }
      }
    }
    if (c.has("maxAge")) {
      Optional<Duration> d = duration(c.get("maxAge"), path + ".maxAge");
      if (d.isPresent() && d.get().getNano() > 0) {
        error(path + ".maxAge", "max_age duration is accurate only to seconds precision");
      }
    }
  }

  private void fault(JsonNode f, String path) {
    if (f.isMissingNode()) {
      return;
    }
    if (!f.has("abort") && !f.has("delay")) {
      error(path, "HTTP fault injection must have an abort and/or a delay");
    }
    JsonNode abort = f.path("abort");
    if (!abort.isMissingNode()) {
      percentage(abort.path("percentage"), path + ".abort.percentage");
      if (abort.has("grpcStatus")) {
        if (!GRPC_STATUS.contains(abort.get("grpcStatus").asText())) {
          error(
              path + ".abort.grpcStatus",
              "gRPC status \""
                  + abort.get("grpcStatus").asText()
                  + "\" is not supported. See https://github.com/grpc/grpc/blob/master/doc/statuscodes.md for a list"
                  + " of supported codes, for example 'NOT_FOUND'");
        }
      } else if (abort.has("http2Error")) {
        error(path + ".abort.http2Error", "HTTP/2 abort fault injection not supported yet");
      } else if (abort.has("httpStatus")) {
        httpStatus(abort.get("httpStatus").asLong(), path + ".abort.httpStatus");
      } else {
        warn(path + ".abort", "abort configured, but error type not set");
      }
    }
    JsonNode delay = f.path("delay");
    if (!delay.isMissingNode()) {
      percentage(delay.path("percentage"), path + ".delay.percentage");
      if (delay.has("fixedDelay")) {
        duration(delay.get("fixedDelay"), path + ".delay.fixedDelay");
      } else if (delay.has("exponentialDelay")) {
        duration(delay.get("exponentialDelay"), path + ".delay.exponentialDelay");
        error(path + ".delay.exponentialDelay", "exponentialDelay not supported yet");
      }
    }
  }

  private void percentage(JsonNode p, String path) {
    if (p.isMissingNode()) {
      return;
    }
    double v = p.path("value").asDouble(0);
    if (v < 0 || v > 100 || (v > 0 && v < 0.0001)) {
      error(path, "percentage " + fmt(v) + " is neither 0.0, nor in range [0.0001, 100.0]");
    }
  }

  private void httpStatus(long status, String path) {
    if (status < 200 || status > 600) {
      error(path, "HTTP status " + status + " is not in range 200-599");
    }
  }

  private void redirect(JsonNode r, JsonNode matches, String path) {
    if (r.isMissingNode()) {
      return;
    }
    String uri = r.path("uri").asText("");
    String prefix = r.path("prefixRewrite").asText("");
    if (!uri.isEmpty() && !prefix.isEmpty()) {
      error(path, "redirect may only specify one of uri or prefix_rewrite");
      return;
    }
    if (!prefix.isEmpty()) {
      for (JsonNode m : matches) {
        if (m.has("uri") && !m.get("uri").has("prefix")) {
          error(path, "redirect prefix_rewrite requires all URI matches to use prefix match type");
          return;
        }
      }
    }
    if (uri.isEmpty()
        && prefix.isEmpty()
        && r.path("authority").asText("").isEmpty()
        && !r.has("port")
        && !r.has("derivePort")
        && r.path("scheme").asText("").isEmpty()) {
      error(path, "redirect must specify URI, authority, scheme, or port");
      return;
    }
    long code = r.path("redirectCode").asLong(0);
    if (code != 0 && (code < 300 || code > 399)) {
      error(path + ".redirectCode", code + " is not a valid redirect code, must be 3xx");
      return;
    }
    String scheme = r.path("scheme").asText("");
    if (!scheme.isEmpty() && !scheme.equals("http") && !scheme.equals("https")) {
      error(path + ".scheme", "invalid redirect scheme, must be \"http\" or \"https\"");
      return;
    }
    if (r.path("port").asLong(0) > 0) {
      port(r.get("port").asLong(), path + ".port");
    }
  }

  private void directResponse(JsonNode d, String path) {
    if (d.isMissingNode()) {
      return;
    }
    JsonNode body = d.path("body");
    int size =
        body.path("string").asText("").length() + body.path("bytes").asText("").length() * 3 / 4;
    if (size > 1024 * 1024) {
      error(
          path + ".body",
          "large direct_responses may impact control plane performance, must be less than 1MB");
    } else if (size > 100 * 1024) {
      warn(path + ".body", "large direct_responses may impact control plane performance");
    }
    httpStatus(d.path("status").asLong(0), path + ".status");
  }

  private void retries(JsonNode r, String path) {
    if (r.isMissingNode()) {
      return;
    }
    long attempts = r.path("attempts").asLong(0);
    if (attempts < 0) {
      error(path + ".attempts", "attempts cannot be negative");
    }
    if (attempts == 0
        && (r.has("perTryTimeout")
            || !r.path("retryOn").asText("").isEmpty()
            || r.has("retryRemoteLocalities"))) {
      error(path, "http retry policy configured when attempts are set to 0 (disabled)");
    }
    if (r.has("perTryTimeout")) {
      duration(r.get("perTryTimeout"), path + ".perTryTimeout");
    }
    String retryOn = r.path("retryOn").asText("");
    if (!retryOn.isEmpty()) {
      for (String policy : retryOn.split(",", -1)) {
        if (!RETRY_ON.contains(policy) && !isHttpStatusCode(policy)) {
          error(path + ".retryOn", "\"" + policy + "\" is not a valid retryOn policy");
        }
      }
    }
    if (r.has("backoff")) {
      duration(r.get("backoff"), path + ".backoff");
    }
  }

  private static boolean isHttpStatusCode(String s) {
    try {
      int code = Integer.parseInt(s);
      return code >= 100 && code <= 511;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private void rewrite(JsonNode r, String path) {
    if (r.isMissingNode()) {
      return;
    }
    boolean uri = !r.path("uri").asText("").isEmpty();
    boolean regexRewrite = r.has("uriRegexRewrite");
    if (uri && regexRewrite) {
      error(path, "rewrite may only contain one of URI or UriRegexRewrite");
      return;
    }
    if (!uri && !regexRewrite && r.path("authority").asText("").isEmpty()) {
      error(
          path,
          "rewrite must specify at least one of URI, UriRegexRewrite, or authority. Only one of URI or"
              + " UriRegexRewrite may be specified");
      return;
    }
    if (regexRewrite) {
      JsonNode rr = r.get("uriRegexRewrite");
      if (rr.path("match").asText("").isEmpty() || rr.path("rewrite").asText("").isEmpty()) {
        error(
            path + ".uriRegexRewrite",
            "UriRegexRewrite has errors: UriRegexRewrite requires both Rewrite and"
                + " Match fields to be specified");
      } else {
        regex(
            rr.get("match").asText(),
            "HTTPRewrite.UriRegexRewrite.Match",
            path + ".uriRegexRewrite.match");
      }
    }
  }

  /** HTTP route destinations: as TCP/TLS ones, plus each destination's header operations. */
  private void httpRouteDestinations(JsonNode route, String path) {
    routeDestinations(route, path, true);
  }

  private void routeDestinations(JsonNode route, String path) {
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

  private void destination(JsonNode d, String path) {
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

  private void subsetName(String name, String path) {
    if (name.isEmpty()) {
      error(path, "subset name cannot be empty");
    } else if (!Hosts.isDns1123Label(name)) {
      error(path, "subset name is invalid: " + name);
    }
  }

  private void tlsRoute(JsonNode tls, String path, JsonNode spec, boolean appliesToGateway) {
    JsonNode matches = tls.path("match");
    if (matches.isEmpty()) {
      error(path + ".match", "TLS route must have at least one match condition");
    }
    for (int j = 0; j < matches.size(); j++) {
      JsonNode m = matches.get(j);
      String p = path + ".match[" + j + "]";
      JsonNode sni = m.path("sniHosts");
      if (sni.isEmpty()) {
        error(p + ".sniHosts", "TLS match must have at least one SNI host");
      }
      for (int k = 0; k < sni.size(); k++) {
        sniHost(sni.get(k).asText(), spec, p + ".sniHosts[" + k + "]", appliesToGateway);
      }
      JsonNode subnets = m.path("destinationSubnets");
      for (int k = 0; k < subnets.size(); k++) {
        ipSubnet(subnets.get(k).asText(), p + ".destinationSubnets[" + k + "]");
      }
      if (m.path("port").asLong(0) != 0) {
        port(m.get("port").asLong(), p + ".port");
      }
      labels(m.path("sourceLabels"), p + ".sourceLabels");
      gatewayNames(m.path("gateways"), p + ".gateways");
    }
    if (tls.path("route").isEmpty()) {
      error(path + ".route", "TLS route is required");
    }
    routeDestinations(tls.path("route"), path + ".route");
  }

  private void sniHost(String sni, JsonNode spec, String path, boolean appliesToGateway) {
    String err = wildcardDomain(sni);
    if (err != null) {
      if (isIp(sni)) {
        warn(
            path,
            "using an IP address (\""
                + sni
                + "\") goes against SNI spec and most clients do not support this");
        return;
      }
      if (!(appliesToGateway && sni.startsWith("outbound_"))) {
        error(path, err);
      }
      return;
    }
    List<String> hosts = new ArrayList<>();
    for (JsonNode h : spec.path("hosts")) {
      hosts.add(h.asText());
      if (Hosts.subsetOf(sni, h.asText())) {
        return;
      }
    }
    error(
        path,
        "SNI host \""
            + sni
            + "\" is not a compatible subset of any of the virtual service hosts: ["
            + String.join(", ", hosts)
            + "]");
  }

  private void l4Match(JsonNode m, String path) {
    JsonNode subnets = m.path("destinationSubnets");
    for (int k = 0; k < subnets.size(); k++) {
      ipSubnet(subnets.get(k).asText(), path + ".destinationSubnets[" + k + "]");
    }
    if (m.path("port").asLong(0) != 0) {
      port(m.get("port").asLong(), path + ".port");
    }
    labels(m.path("sourceLabels"), path + ".sourceLabels");
    gatewayNames(m.path("gateways"), path + ".gateways");
  }

  private void gatewayNames(JsonNode names, String path) {
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

  // ---------------------------------------------------------------- DestinationRule

  private void destinationRule(JsonNode spec) {
    String err = wildcardDomain(spec.path("host").asText(""));
    if (err != null) {
      error("spec.host", err);
    }
    trafficPolicy(spec.path("trafficPolicy"), "spec.trafficPolicy");
    Set<String> names = new HashSet<>();
    JsonNode subsets = spec.path("subsets");
    for (int i = 0; i < subsets.size(); i++) {
      JsonNode s = subsets.get(i);
      String p = "spec.subsets[" + i + "]";
      String name = s.path("name").asText("");
      if (!names.add(name)) {
        error(p + ".name", "duplicate subset names: " + name);
      }
      subsetName(name, p + ".name");
      labels(s.path("labels"), p + ".labels");
      trafficPolicy(s.path("trafficPolicy"), p + ".trafficPolicy");
    }
    exportTo(spec.path("exportTo"), false);
    if (spec.has("workloadSelector") && !spec.path("exportTo").isEmpty()) {
      Set<String> set = new HashSet<>();
      for (JsonNode e : spec.path("exportTo")) {
        set.add(e.asText().equals(".") ? namespace : e.asText());
      }
      if (set.contains(namespace)) {
        if (set.size() > 1) {
          error(
              "spec.exportTo",
              "destination rule with workload selector cannot have multiple entries in exportTo");
        }
      } else {
        error(
            "spec.exportTo",
            "destination rule with workload selector cannot have exportTo beyond current namespace");
      }
    }
  }

  private void trafficPolicy(JsonNode tp, String path) {
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
      error(path, "traffic policy must have at least one field");
      return;
    }
    if (tp.has("tunnel") && tp.has("proxyProtocol")) {
      error(path, "tunnel and proxyProtocol must not be set together");
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
        error(p, "portTrafficPolicy must have valid port");
      }
      if (!(t.has("outlierDetection")
          || t.has("connectionPool")
          || t.has("loadBalancer")
          || t.has("tls"))) {
        error(p, "port traffic policy must have at least one field");
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
        error(path + ".tunnel.protocol", "tunnel protocol must be \"CONNECT\" or \"POST\"");
      }
      String target = tunnel.path("targetHost").asText("");
      String fe = fqdn(target);
      if (fe != null && !isIp(target)) {
        error(
            path + ".tunnel.targetHost",
            "tunnel target host must be valid FQDN or IP address: "
                + fe
                + "; "
                + target
                + " is not a valid IP");
      }
      long tport = tunnel.path("targetPort").asLong(0);
      if (tport < 1 || tport > 65535) {
        error(
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
      error(
          path + ".proxyProtocol.version",
          "proxy protocol version is invalid: " + pp.get("version").asText());
    }
  }

  private void outlierDetection(JsonNode o, String path) {
    if (o.isMissingNode()) {
      return;
    }
    if (o.has("baseEjectionTime")) {
      duration(o.get("baseEjectionTime"), path + ".baseEjectionTime");
    }
    if (o.path("consecutiveErrors").asLong(0) != 0) {
      warn(
          path + ".consecutiveErrors",
          "outlier detection consecutive errors is deprecated, use"
              + " consecutiveGatewayErrors or consecutive5xxErrors instead");
    }
    if (!o.path("splitExternalLocalOriginErrors").asBoolean(false)
        && o.path("consecutiveLocalOriginFailures").asLong(0) > 0) {
      error(
          path,
          "outlier detection consecutive local origin failures is specified, but split external local"
              + " origin errors is set to false");
    }
    if (o.has("interval")) {
      duration(o.get("interval"), path + ".interval");
    }
    for (String f : List.of("maxEjectionPercent", "minHealthPercent")) {
      long v = o.path(f).asLong(0);
      if (v < 0 || v > 100) {
        error(path + "." + f, "percentage " + v + " is not in range 0..100");
      }
    }
  }

  private void connectionPool(JsonNode c, String path) {
    if (c.isMissingNode()) {
      return;
    }
    if (!c.has("http") && !c.has("tcp")) {
      error(path, "connection pool must have at least one field");
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
      duration(h.get("idleTimeout"), path + ".http.idleTimeout");
    }
    if (h.path("h2UpgradePolicy").asText("").equals("UPGRADE")
        && h.path("useClientProtocol").asBoolean(false)) {
      error(path + ".http", "use client protocol must not be true when H2UpgradePolicy is UPGRADE");
    }
    JsonNode ka = h.path("http2KeepAlive");
    if (!ka.isMissingNode()) {
      if (!ka.has("interval")) {
        error(path + ".http.http2KeepAlive", "http2 keepalive interval is required");
      } else {
        duration(ka.get("interval"), path + ".http.http2KeepAlive.interval");
      }
      if (!ka.has("timeout")) {
        error(path + ".http.http2KeepAlive", "http2 keepalive timeout is required");
      } else {
        duration(ka.get("timeout"), path + ".http.http2KeepAlive.timeout");
      }
    }
    JsonNode t = c.path("tcp");
    nonNegative(t, "maxConnections", path + ".tcp", "max connections must be non-negative");
    for (String f : List.of("connectTimeout", "maxConnectionDuration")) {
      if (t.has(f)) {
        duration(t.get(f), path + ".tcp." + f);
      }
    }
    if (t.has("idleTimeout")
        && GoDuration.parse(t.get("idleTimeout").asText()).map(d -> !d.isZero()).orElse(true)) {
      duration(t.get("idleTimeout"), path + ".tcp.idleTimeout");
    }
    for (String f : List.of("time", "interval")) {
      if (t.path("tcpKeepalive").has(f)) {
        duration(t.path("tcpKeepalive").get(f), path + ".tcp.tcpKeepalive." + f);
      }
    }
  }

  private void nonNegative(JsonNode n, String field, String path, String message) {
    if (n.path(field).asLong(0) < 0) {
      error(path + "." + field, message);
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
        error(path + ".consistentHash.httpCookie", "name required for HttpCookie");
      }
      if (ch.path("minimumRingSize").asLong(0) != 0) {
        warn(
            path + ".consistentHash.minimumRingSize",
            "consistent hash MinimumRingSize is deprecated, use"
                + " ConsistentHashLB's RingHash configuration instead");
        if (ch.has("ringHash") || ch.has("maglev")) {
          error(
              path + ".consistentHash",
              "only one of MinimumRingSize or Maglev/Ringhash can be specified");
        }
      }
      JsonNode ml = ch.path("maglev");
      if (!ml.isMissingNode()) {
        long size = ml.path("tableSize").asLong(0);
        if (size == 0) {
          error(path + ".consistentHash.maglev.tableSize", "tableSize must be set for maglev");
        }
        if (size >= 5000011) {
          error(
              path + ".consistentHash.maglev.tableSize",
              "tableSize must be less than 5000011 for maglev");
        }
        if (!isPrime(size)) {
          error(
              path + ".consistentHash.maglev.tableSize",
              "tableSize must be a prime number for maglev");
        }
      }
    }
    if (lb.has("localityLbSetting") && lb.has("zoneAwareLbSetting")) {
      error(path, "only one of localityLbSetting and zoneAwareLbSetting can be set");
    }
    JsonNode warm = lb.path("warmup");
    if (!warm.isMissingNode()) {
      if (!warm.has("duration")) {
        error(path + ".warmup.duration", "duration is required");
      } else {
        duration(warm.get("duration"), path + ".warmup.duration");
      }
      if (warm.path("minimumPercent").asDouble(0) > 100) {
        error(
            path + ".warmup.minimumPercent",
            "minimumPercent value should be less than or equal to 100");
      }
      if (warm.has("aggression") && warm.path("aggression").asDouble(0) <= 0) {
        error(path + ".warmup.aggression", "aggression should be greater than 0");
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
        error(
            path,
            "cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true");
      }
      if (mode.equals("MUTUAL")
          && (!tls.path("caCertificates").asText("").isEmpty() || tls.has("subjectAltNames"))) {
        error(
            path,
            "cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true");
      }
    }
    if ((mode.equals("SIMPLE") || mode.equals("MUTUAL")) && hasCred) {
      if (!tls.path("clientCertificate").asText("").isEmpty()
          || !tls.path("caCertificates").asText("").isEmpty()
          || !tls.path("privateKey").asText("").isEmpty()
          || !tls.path("caCrl").asText("").isEmpty()) {
        error(
            path,
            "cannot specify client certificates or CA certificate or CA CRL If credentialName is set");
      }
      return;
    }
    if (mode.equals("MUTUAL")) {
      if (tls.path("clientCertificate").asText("").isEmpty()) {
        error(path, "client certificate required for mutual tls");
      }
      if (tls.path("privateKey").asText("").isEmpty()) {
        error(path, "private key required for mutual tls");
      }
    }
  }

  // ---------------------------------------------------------------- Gateway

  private void gateway(String name, JsonNode spec) {
    if (!Hosts.isDns1123Label(name)) {
      error("metadata.name", "invalid gateway name: \"" + name + "\"");
    }
    JsonNode servers = spec.path("servers");
    if (servers.isEmpty()) {
      error("spec.servers", "gateway must have at least one server");
    }
    Set<String> portNames = new HashSet<>();
    for (int i = 0; i < servers.size(); i++) {
      JsonNode s = servers.get(i);
      String p = "spec.servers[" + i + "]";
      server(s, p);
      if (s.has("port")) {
        String pn = s.path("port").path("name").asText("");
        if (!portNames.add(pn)) {
          error(p + ".port.name", "port names in servers must be unique: duplicate name " + pn);
        }
        if (!Protocol.parse(s.path("port").path("protocol").asText()).isHttp()
            && s.path("tls").path("httpsRedirect").asBoolean(false)) {
          warn(p + ".tls.httpsRedirect", "tls.httpsRedirect should only be used with http servers");
        }
      }
    }
  }

  private void server(JsonNode s, String path) {
    JsonNode hosts = s.path("hosts");
    if (hosts.isEmpty()) {
      error(path + ".hosts", "server config must contain at least one host");
    }
    for (int i = 0; i < hosts.size(); i++) {
      gatewayHost(hosts.get(i).asText(), path + ".hosts[" + i + "]");
    }
    JsonNode port = s.path("port");
    String bind = s.path("bind").asText("");
    boolean portOk = true;
    if (port.isMissingNode()) {
      error(path + ".port", "port is required");
      portOk = false;
    } else {
      String proto = port.path("protocol").asText("");
      if (Protocol.parse(proto) == Protocol.UNSUPPORTED) {
        error(
            path + ".port.protocol",
            "invalid protocol \""
                + proto
                + "\", supported protocols are HTTP, HTTP2, GRPC, GRPC-WEB, MONGO, REDIS, MYSQL, TCP");
        portOk = false;
      }
      long number = port.path("number").asLong(0);
      if (number > 0 || !bind.startsWith("unix://")) {
        portOk &= port(number, path + ".port.number");
      }
      if (port.path("targetPort").asLong(0) > 0) {
        error(path + ".port.targetPort", "targetPort has no impact on Gateways");
        portOk = false;
      }
      if (port.path("name").asText("").isEmpty()) {
        error(path + ".port.name", "port name must be set: " + port);
        portOk = false;
      }
    }
    if (bind.startsWith("unix://")) {
      if (port.path("number").asLong(0) != 0) {
        error(path + ".bind", "port number must be 0 for unix domain socket: " + port);
      }
    } else if (!bind.isEmpty() && !isIp(bind)) {
      error(path + ".bind", bind + " is not a valid IP");
    }
    JsonNode tls = s.path("tls");
    serverTls(tls, path + ".tls");
    if (portOk) {
      Protocol p = Protocol.parse(port.path("protocol").asText());
      if (p.isTls() && tls.isMissingNode()) {
        error(path + ".tls", "server must have TLS settings for HTTPS/TLS protocols");
      } else if (!p.isTls() && !tls.isMissingNode()) {
        if (p.isHttp()) {
          boolean passThrough = tls.path("mode").asText("").equals("PASSTHROUGH");
          if (!tls.path("httpsRedirect").asBoolean(false) && !passThrough
              || !tls.path("caCertificates").asText("").isEmpty()
              || !tls.path("privateKey").asText("").isEmpty()
              || !tls.path("serverCertificate").asText("").isEmpty()) {
            error(path + ".tls", "server cannot have TLS settings for plain text HTTP ports");
          }
        } else {
          error(path + ".tls", "server cannot have TLS settings for non HTTPS/TLS ports");
        }
      }
    }
  }

  private void gatewayHost(String host, String path) {
    int slash = host.indexOf('/');
    String hostname = host;
    if (slash >= 0) {
      String ns = host.substring(0, slash);
      hostname = host.substring(slash + 1);
      if (ns.isEmpty() || hostname.isEmpty()) {
        error(path, "config namespace and dnsName in host entry cannot be empty");
      }
      if (!ns.equals("*") && !ns.equals(".") && !Hosts.isDns1123Label(ns)) {
        error(path, "invalid namespace value \"" + ns + "\" in gateway");
      }
    }
    if (!hostname.equals("*") && !hostname.contains(".")) {
      error(path, "short names (non FQDN) are not allowed");
    }
    String err = wildcardDomain(hostname);
    if (err != null && !isIp(hostname)) {
      error(path, err);
    }
    if (hostname.contains("*") && hostname.length() != 1 && !hostname.startsWith("*.")) {
      error(path, "partial wildcard \"" + hostname + "\" not allowed");
    }
  }

  private void serverTls(JsonNode tls, String path) {
    if (tls.isMissingNode()) {
      return;
    }
    String mode = tls.path("mode").asText("PASSTHROUGH");
    boolean cert = !tls.path("serverCertificate").asText("").isEmpty();
    boolean key = !tls.path("privateKey").asText("").isEmpty();
    boolean ca = !tls.path("caCertificates").asText("").isEmpty();
    boolean cred = !tls.path("credentialName").asText("").isEmpty();
    boolean creds = !tls.path("credentialNames").isEmpty();
    boolean tlsCerts = !tls.path("tlsCertificates").isEmpty();
    if (mode.equals("ISTIO_MUTUAL")) {
      if (cert) {
        error(path, "ISTIO_MUTUAL TLS cannot have associated server certificate");
      }
      if (key) {
        error(path, "ISTIO_MUTUAL TLS cannot have associated private key");
      }
      if (ca) {
        error(path, "ISTIO_MUTUAL TLS cannot have associated CA bundle");
      }
      if (tlsCerts) {
        error(path, "ISTIO_MUTUAL TLS cannot have associated tlsCertificates");
      }
      if (cred) {
        error(path, "ISTIO_MUTUAL TLS cannot have associated credentialName");
      }
      if (creds) {
        error(path, "ISTIO_MUTUAL TLS cannot have associated credentialNames");
      }
      return;
    }
    int sources = (cert && key ? 1 : 0) + (cred ? 1 : 0) + (creds ? 1 : 0) + (tlsCerts ? 1 : 0);
    if (sources > 1) {
      error(
          path,
          "only one of credential_name, credential_names, server_certificate/private_key, tls_certificates"
              + " should be specified");
    }
    boolean simpleOrMutual =
        mode.equals("SIMPLE") || mode.equals("MUTUAL") || mode.equals("OPTIONAL_MUTUAL");
    if (simpleOrMutual && (cred || creds)) {
      return;
    }
    if (simpleOrMutual) {
      String prefix = mode.equals("SIMPLE") ? "SIMPLE TLS" : "MUTUAL TLS";
      if (!mode.equals("SIMPLE") && !ca) {
        error(path, prefix + " requires a client CA bundle");
      }
      if (tlsCerts) {
        JsonNode certs = tls.get("tlsCertificates");
        for (JsonNode c : certs) {
          if (c.path("serverCertificate").asText("").isEmpty()) {
            error(path, prefix + " requires a server certificate");
          }
          if (c.path("privateKey").asText("").isEmpty()) {
            error(path, prefix + " requires a private key");
          }
        }
      } else {
        if (!cert) {
          error(path, prefix + " requires a server certificate");
        }
        if (!key) {
          error(path, prefix + " requires a private key");
        }
      }
    }
    if (!tls.path("caCrl").asText("").isEmpty()) {
      if (cred) {
        error(
            path,
            "CRL is not supported with credentialName. CRL has to be specified in the credential");
      }
      if (mode.equals("SIMPLE")) {
        error(path, "CRL is not supported with SIMPLE TLS");
      }
    }
  }

  // ---------------------------------------------------------------- ServiceEntry

  private void serviceEntry(JsonNode spec) {
    String resolution = spec.path("resolution").asText("NONE");
    JsonNode selector = spec.path("workloadSelector");
    if (!selector.isMissingNode()) {
      labels(selector.path("labels"), "spec.workloadSelector.labels");
      if (selector.path("labels").isEmpty()) {
        warn(
            "spec.workloadSelector",
            "service entry: workload selector specified without labels, will be applied"
                + " to all services in namespace");
      }
    }
    if (!selector.isMissingNode() && spec.has("endpoints")) {
      error("spec", "only one of WorkloadSelector or Endpoints is allowed in Service Entry");
    }
    JsonNode hosts = spec.path("hosts");
    if (hosts.isEmpty()) {
      error("spec.hosts", "service entry must have at least one host");
    }
    for (int i = 0; i < hosts.size(); i++) {
      String h = hosts.get(i).asText();
      String p = "spec.hosts[" + i + "]";
      if (h.equals("*")) {
        error(p, "invalid host " + h);
      } else {
        String err = wildcardDomain(h);
        if (err != null) {
          error(p, err);
        }
        if (!resolution.equals("DYNAMIC_DNS")
            && h.contains("*")
            && h.length() != 1
            && !h.startsWith("*.")) {
          warn(p, "partial wildcard \"" + h + "\" not allowed");
        }
      }
    }
    boolean cidr = false;
    JsonNode addresses = spec.path("addresses");
    for (int i = 0; i < addresses.size(); i++) {
      String a = addresses.get(i).asText();
      cidr |= a.contains("/");
      ipSubnet(a, "spec.addresses[" + i + "]");
    }
    if (cidr && !resolution.equals("NONE") && !resolution.equals("STATIC")) {
      error("spec.addresses", "CIDR addresses are allowed only for NONE/STATIC resolution types");
    }
    Set<String> portNames = new HashSet<>();
    Set<Long> portNumbers = new HashSet<>();
    JsonNode ports = spec.path("ports");
    for (int i = 0; i < ports.size(); i++) {
      JsonNode port = ports.get(i);
      String p = "spec.ports[" + i + "]";
      String name = port.path("name").asText("");
      long number = port.path("number").asLong(0);
      if (!portNames.add(name)) {
        error(p + ".name", "service entry port name \"" + name + "\" already defined");
      }
      if (!portNumbers.add(number)) {
        error(p + ".number", "service entry port " + number + " already defined");
      }
      if (port.path("targetPort").asLong(0) != 0) {
        port(port.get("targetPort").asLong(), p + ".targetPort");
      }
      String proto = port.path("protocol").asText("");
      if (addresses.isEmpty() && (proto.isEmpty() || proto.equals("TCP"))) {
        warn(
            p,
            "addresses are required for ports serving TCP (or unset) protocol when IP Autoallocation is not"
                + " enabled");
      }
      if (!Hosts.isDns1123Label(name)) {
        error(p + ".name", "invalid port name: " + name);
      }
      if (!proto.isEmpty() && Protocol.parse(proto) == Protocol.UNSUPPORTED) {
        error(p + ".protocol", "unsupported protocol: " + proto);
      }
      port(number, p + ".number");
    }
    JsonNode endpoints = spec.path("endpoints");
    switch (resolution) {
      case "NONE" -> {
        if (!endpoints.isEmpty()) {
          error("spec.endpoints", "no endpoints should be provided for resolution type none");
        }
        if (!selector.isMissingNode()) {
          warn(
              "spec.workloadSelector",
              "workloadSelector should not be set when resolution mode is NONE");
        }
      }
      case "STATIC" -> {
        for (int i = 0; i < endpoints.size(); i++) {
          workloadEntry(endpoints.get(i), "spec.endpoints[" + i + "]", portNames, false);
        }
      }
      case "DNS", "DNS_ROUND_ROBIN" -> {
        if (endpoints.isEmpty()) {
          for (JsonNode h : hosts) {
            String err = fqdn(h.asText());
            if (err != null) {
              error(
                  "spec.hosts",
                  "hosts must be FQDN or contain only prefix wildcards if no endpoints are provided"
                      + " for resolution mode "
                      + resolution
                      + ", "
                      + err);
              break;
            }
          }
        }
        if (resolution.equals("DNS_ROUND_ROBIN") && endpoints.size() > 1) {
          error(
              "spec.endpoints",
              "there must only be 0 or 1 endpoint for resolution mode " + resolution);
        }
        for (int i = 0; i < endpoints.size(); i++) {
          workloadEntry(endpoints.get(i), "spec.endpoints[" + i + "]", portNames, true);
        }
        if (!addresses.isEmpty() && hosts.size() > 1) {
          for (JsonNode port : ports) {
            if (Protocol.parse(port.path("protocol").asText()).isTcp()) {
              warn(
                  "spec",
                  "service entry can not have more than one host specified simultaneously with address"
                      + " and tcp port");
              break;
            }
          }
        }
      }
      case "DYNAMIC_DNS" -> {
        for (JsonNode h : hosts) {
          if (!h.asText().startsWith("*")) {
            error("spec.hosts", "host must be wildcarded for resolution mode DYNAMIC_DNS");
          }
        }
        if (!addresses.isEmpty()) {
          error(
              "spec.addresses",
              "addresses cannot be set for resolution type DYNAMIC_DNS. HTTP route domains will"
                  + " only be generatedfrom the hosts field values");
        }
        if (!endpoints.isEmpty()) {
          error(
              "spec.endpoints",
              "endpoints cannot be set for resolution type DYNAMIC_DNS. Destination IP address"
                  + " determined from hostsfield values");
        }
        for (JsonNode port : ports) {
          Protocol pr = Protocol.parse(port.path("protocol").asText());
          if (pr != Protocol.HTTP
              && pr != Protocol.TLS
              && pr != Protocol.GRPC
              && pr != Protocol.HTTP2) {
            error(
                "spec.ports",
                "only HTTP, TLS, GRPC, and HTTP2 protocols are supported for resolution type"
                    + " DYNAMIC_DNS");
          }
        }
      }
      default -> error("spec.resolution", "unsupported resolution type " + resolution);
    }
    if (!resolution.equals("NONE") && hosts.size() > 1) {
      for (JsonNode port : ports) {
        Protocol pr = Protocol.parse(port.path("protocol").asText());
        if (!pr.isHttp() && !pr.isTls()) {
          error("spec.ports", "multiple hosts provided with non-HTTP, non-TLS ports");
          break;
        }
      }
    }
    exportTo(spec.path("exportTo"), true);
  }

  private void workloadEntry(JsonNode we, String path, Set<String> servicePorts, boolean dns) {
    String address = we.path("address").asText("");
    if (dns) {
      if (!isIp(address) && fqdn(address) != null) {
        error(
            path + ".address",
            "endpoint address \"" + address + "\" is not a valid FQDN or an IP address");
      }
    } else if (address.isEmpty() && !we.has("network")) {
      error(path + ".address", "address is required");
    } else if (!address.isEmpty() && !address.startsWith("unix://") && !isIp(address)) {
      error(path + ".address", "endpoint address \"" + address + "\" is not a valid IP address");
    }
    labels(we.path("labels"), path + ".labels");
    Iterator<Map.Entry<String, JsonNode>> ps = we.path("ports").fields();
    while (ps.hasNext()) {
      Map.Entry<String, JsonNode> e = ps.next();
      String p = path + ".ports." + e.getKey();
      if (!servicePorts.contains(e.getKey())) {
        error(p, "endpoint port " + e.getValue().asText() + " is not defined by the service entry");
      }
      if (!Hosts.isDns1123Label(e.getKey())) {
        error(p, "invalid port name: " + e.getKey());
      }
      port(e.getValue().asLong(), p);
    }
  }

  // ---------------------------------------------------------------- shared

  private void exportTo(JsonNode exportTo, boolean serviceEntry) {
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

  private void labels(JsonNode labels, String path) {
    Iterator<Map.Entry<String, JsonNode>> it = labels.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      java.util.regex.Matcher m = LABEL_KEY.matcher(e.getKey());
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

  private boolean port(long port, String path) {
    if (port >= 1 && port <= 65535) {
      return true;
    }
    error(path, "port number " + port + " must be in the range 1..65535");
    return false;
  }

  private void ipSubnet(String s, String path) {
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
  private Optional<Duration> duration(JsonNode n, String path) {
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
  public static String wildcardDomain(String domain) {
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
  public static String fqdn(String name) {
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

  private static boolean contains(JsonNode arr, String v) {
    for (JsonNode n : arr) {
      if (n.asText().equals(v)) {
        return true;
      }
    }
    return false;
  }

  private static String goList(JsonNode arr) {
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

  /**
   * RE2 syntax check through re2j (Java's own regex would accept look-arounds that Envoy rejects).
   */
  static final class Re2 {
    private Re2() {}

    static String check(String re) {
      try {
        com.google.re2j.Pattern.compile(re);
        return null;
      } catch (PatternSyntaxException e) {
        return "error parsing regexp: " + e.getDescription() + ": `" + e.getPattern() + "`";
      }
    }
  }
}
