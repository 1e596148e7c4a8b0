package io.shopmesh.mesh.config.validation;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.config.Hosts;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Checks of one VirtualService HTTP route (Istio's validateHTTPRoute and the helpers it calls):
 * matches, redirect, direct response, rewrite, retries, fault injection, CORS and mirrors.
 */
final class HttpRouteValidator {

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

  private final Checks checks;

  HttpRouteValidator(Checks checks) {
    this.checks = checks;
  }

  void jwtClaimRoutes(JsonNode route, String path, JsonNode gateways) {
    JsonNode matches = route.path("match");
    for (int j = 0; j < matches.size(); j++) {
      for (String field : List.of("headers", "withoutHeaders")) {
        Iterator<String> names = matches.get(j).path(field).fieldNames();
        while (names.hasNext()) {
          String key = names.next();
          if (key.startsWith("@request.auth.claims")) {
            checks.error(
                path + ".match[" + j + "]." + field + "." + key,
                "JWT claim based routing (key: "
                    + key
                    + ") is only supported for gateway, found no gateways: "
                    + Checks.goList(gateways));
          }
        }
      }
    }
  }

  void validate(JsonNode r, String path, boolean delegate) {
    boolean root = !delegate && r.has("delegate");
    if (root) {
      if (r.has("redirect")) {
        checks.error(
            path + ".redirect",
            "root HTTP route " + r.path("name").asText("") + " must not specify redirect");
      }
      if (r.has("route")) {
        checks.error(
            path + ".route",
            "root HTTP route " + r.path("name").asText("") + " must not specify route");
      }
    } else {
      if (delegate && r.has("delegate")) {
        checks.error(path + ".delegate", "delegate HTTP route cannot contain delegate");
      }
      if (r.has("redirect")) {
        if (!r.path("route").isEmpty()) {
          checks.error(path, "HTTP route cannot contain both route and redirect");
        }
        if (r.has("fault")) {
          checks.error(path, "HTTP route cannot contain both fault and redirect");
        }
        if (r.has("rewrite")) {
          checks.error(path, "HTTP route rule cannot contain both rewrite and redirect");
        }
        if (r.has("directResponse")) {
          checks.error(path, "HTTP route rule cannot contain both direct_response and redirect");
        }
      } else if (r.has("directResponse")) {
        if (!r.path("route").isEmpty()) {
          checks.error(path, "HTTP route cannot contain both route and direct_response");
        }
        if (r.has("fault")) {
          checks.error(path, "HTTP route cannot contain both fault and direct_response");
        }
        if (r.has("rewrite")) {
          checks.error(path, "HTTP route rule cannot contain both rewrite and direct_response");
        }
      } else if (r.path("route").isEmpty()) {
        checks.error(path, "HTTP route, redirect or direct_response is required");
      }
      if (r.has("mirror") && !r.path("mirrors").isEmpty()) {
        checks.error(path, "HTTP route cannot contain both mirror and mirrors");
      }
    }
    JsonNode matches = r.path("match");
    for (int j = 0; j < matches.size(); j++) {
      httpMatch(matches.get(j), path + ".match[" + j + "]");
    }
    checks.headerOperations(r.path("headers"), path + ".headers");
    cors(r.path("corsPolicy"), path + ".corsPolicy");
    fault(r.path("fault"), path + ".fault");
    if (r.has("mirrorPercent")) {
      if (r.get("mirrorPercent").asLong() > 100) {
        checks.error(
            path + ".mirrorPercent",
            "mirror_percent must have a max value of 100 (it has "
                + r.get("mirrorPercent").asLong()
                + ")");
      }
      checks.warn(
          path + ".mirrorPercent",
          "using deprecated setting \"mirrorPercent\", use \"mirrorPercentage\" instead");
    }
    if (r.has("mirrorPercentage")) {
      double v = r.path("mirrorPercentage").path("value").asDouble(0);
      if (v > 100) {
        checks.error(
            path + ".mirrorPercentage",
            String.format("mirror_percentage must have a max value of 100 (it has %f)", v));
      }
      if (v < 0) {
        checks.error(
            path + ".mirrorPercentage",
            String.format("mirror_percentage must have a min value of 0 (it has %f)", v));
      }
    }
    if (r.has("mirror")) {
      checks.destination(r.get("mirror"), path + ".mirror");
    }
    JsonNode mirrors = r.path("mirrors");
    for (int i = 0; i < mirrors.size(); i++) {
      String p = path + ".mirrors[" + i + "]";
      if (!mirrors.get(i).has("destination")) {
        checks.error(p, "destination is required for mirrors");
        continue;
      }
      checks.destination(mirrors.get(i).get("destination"), p + ".destination");
      double v = mirrors.get(i).path("percentage").path("value").asDouble(0);
      if (v > 100) {
        checks.error(
            p + ".percentage",
            String.format("mirror percentage must have a max value of 100 (it has %f)", v));
      }
      if (v < 0) {
        checks.error(
            p + ".percentage",
            String.format("mirror percentage must have a min value of 0 (it has %f)", v));
      }
    }
    redirect(r.path("redirect"), matches, path + ".redirect");
    directResponse(r.path("directResponse"), path + ".directResponse");
    retries(r.path("retries"), path + ".retries");
    rewrite(r.path("rewrite"), path + ".rewrite");
    checks.httpRouteDestinations(r.path("route"), path + ".route");
    if (r.has("timeout")) {
      checks.duration(r.get("timeout"), path + ".timeout");
    }
  }

  private void httpMatch(JsonNode m, String path) {
    Iterator<Map.Entry<String, JsonNode>> hs = m.path("headers").fields();
    while (hs.hasNext()) {
      Map.Entry<String, JsonNode> e = hs.next();
      String p = path + ".headers." + e.getKey();
      if (e.getValue().isNull()) {
        checks.error(p, "header match " + e.getKey() + " cannot be null");
      }
      checks.headerNameOrClaim(e.getKey(), p);
      checks.stringMatch(e.getValue(), "headers", p);
    }
    Iterator<Map.Entry<String, JsonNode>> wh = m.path("withoutHeaders").fields();
    while (wh.hasNext()) {
      Map.Entry<String, JsonNode> e = wh.next();
      String p = path + ".withoutHeaders." + e.getKey();
      checks.headerNameOrClaim(e.getKey(), p);
      if (!e.getValue().path("regex").asText("").equals("*")) {
        checks.stringMatch(e.getValue(), "withoutHeaders", p);
      }
    }
    if (m.has("uri") && m.get("uri").has("regex")) {
      checks.stringMatch(m.get("uri"), "uri", path + ".uri");
    }
    for (String f : List.of("scheme", "method", "authority")) {
      if (m.has(f)) {
        checks.stringMatch(m.get(f), f, path + "." + f);
      }
    }
    Iterator<Map.Entry<String, JsonNode>> qs = m.path("queryParams").fields();
    while (qs.hasNext()) {
      Map.Entry<String, JsonNode> e = qs.next();
      checks.stringMatch(e.getValue(), "queryParams", path + ".queryParams." + e.getKey());
    }
    if (m.has("port") && m.get("port").asLong() != 0) {
      checks.port(m.get("port").asLong(), path + ".port");
    }
    checks.labels(m.path("sourceLabels"), path + ".sourceLabels");
    checks.gatewayNames(m.path("gateways"), path + ".gateways");
    if (m.has("sourceNamespace")
        && !m.get("sourceNamespace").asText().isEmpty()
        && !Hosts.isDns1123Label(m.get("sourceNamespace").asText())) {
      checks.error(
          path + ".sourceNamespace",
          "sourceNamespace match " + m.get("sourceNamespace").asText() + " is invalid");
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
        checks.error(
            path + ".allowOrigins[" + i + "]",
            "'' is not a valid match type for CORS allow origins");
      } else if (o.has("regex")) {
        checks.regex(m, "corsPolicy.allowOrigins", path + ".allowOrigins[" + i + "].regex");
      }
    }
    JsonNode methods = c.path("allowMethods");
    for (int i = 0; i < methods.size(); i++) {
      if (!CORS_METHODS.contains(methods.get(i).asText())) {
        checks.error(
            path + ".allowMethods[" + i + "]",
            "\"" + methods.get(i).asText() + "\" is not a supported HTTP method");
      }
    }
    for (String f : List.of("allowHeaders", "exposeHeaders")) {
      JsonNode hs = c.path(f);
      for (int i = 0; i < hs.size(); i++) {
        String h = hs.get(i).asText();
        if (h.isEmpty()) {
          checks.error(path + "." + f + "[" + i + "]", "header name cannot be empty");
        } else if (!h.equals("*") && !Checks.HEADER_NAME.matcher(h).matches()) {
          checks.error(
              path + "." + f + "[" + i + "]", "header name " + h + " is not a valid header name");
        }
      }
    }
    if (c.has("maxAge")) {
      Optional<Duration> d = checks.duration(c.get("maxAge"), path + ".maxAge");
      if (d.isPresent() && d.get().getNano() > 0) {
        checks.error(path + ".maxAge", "max_age duration is accurate only to seconds precision");
      }
    }
  }

  private void fault(JsonNode f, String path) {
    if (f.isMissingNode()) {
      return;
    }
    if (!f.has("abort") && !f.has("delay")) {
      checks.error(path, "HTTP fault injection must have an abort and/or a delay");
    }
    JsonNode abort = f.path("abort");
    if (!abort.isMissingNode()) {
      checks.percentage(abort.path("percentage"), path + ".abort.percentage");
      if (abort.has("grpcStatus")) {
        if (!GRPC_STATUS.contains(abort.get("grpcStatus").asText())) {
          checks.error(
              path + ".abort.grpcStatus",
              "gRPC status \""
                  + abort.get("grpcStatus").asText()
                  + "\" is not supported. See https://github.com/grpc/grpc/blob/master/doc/statuscodes.md for a list"
                  + " of supported codes, for example 'NOT_FOUND'");
        }
      } else if (abort.has("http2Error")) {
        checks.error(path + ".abort.http2Error", "HTTP/2 abort fault injection not supported yet");
      } else if (abort.has("httpStatus")) {
        checks.httpStatus(abort.get("httpStatus").asLong(), path + ".abort.httpStatus");
      } else {
        checks.warn(path + ".abort", "abort configured, but error type not set");
      }
    }
    JsonNode delay = f.path("delay");
    if (!delay.isMissingNode()) {
      checks.percentage(delay.path("percentage"), path + ".delay.percentage");
      if (delay.has("fixedDelay")) {
        checks.duration(delay.get("fixedDelay"), path + ".delay.fixedDelay");
      } else if (delay.has("exponentialDelay")) {
        checks.duration(delay.get("exponentialDelay"), path + ".delay.exponentialDelay");
        checks.error(path + ".delay.exponentialDelay", "exponentialDelay not supported yet");
      }
    }
  }

  private void redirect(JsonNode r, JsonNode matches, String path) {
    if (r.isMissingNode()) {
      return;
    }
    String uri = r.path("uri").asText("");
    String prefix = r.path("prefixRewrite").asText("");
    if (!uri.isEmpty() && !prefix.isEmpty()) {
      checks.error(path, "redirect may only specify one of uri or prefix_rewrite");
      return;
    }
    if (!prefix.isEmpty()) {
      for (JsonNode m : matches) {
        if (m.has("uri") && !m.get("uri").has("prefix")) {
          checks.error(
              path, "redirect prefix_rewrite requires all URI matches to use prefix match type");
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
      checks.error(path, "redirect must specify URI, authority, scheme, or port");
      return;
    }
    long code = r.path("redirectCode").asLong(0);
    if (code != 0 && (code < 300 || code > 399)) {
      checks.error(path + ".redirectCode", code + " is not a valid redirect code, must be 3xx");
      return;
    }
    String scheme = r.path("scheme").asText("");
    if (!scheme.isEmpty() && !scheme.equals("http") && !scheme.equals("https")) {
      checks.error(path + ".scheme", "invalid redirect scheme, must be \"http\" or \"https\"");
      return;
    }
    if (r.path("port").asLong(0) > 0) {
      checks.port(r.get("port").asLong(), path + ".port");
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
      checks.error(
          path + ".body",
          "large direct_responses may impact control plane performance, must be less than 1MB");
    } else if (size > 100 * 1024) {
      checks.warn(path + ".body", "large direct_responses may impact control plane performance");
    }
    checks.httpStatus(d.path("status").asLong(0), path + ".status");
  }

  private void retries(JsonNode r, String path) {
    if (r.isMissingNode()) {
      return;
    }
    long attempts = r.path("attempts").asLong(0);
    if (attempts < 0) {
      checks.error(path + ".attempts", "attempts cannot be negative");
    }
    if (attempts == 0
        && (r.has("perTryTimeout")
            || !r.path("retryOn").asText("").isEmpty()
            || r.has("retryRemoteLocalities"))) {
      checks.error(path, "http retry policy configured when attempts are set to 0 (disabled)");
    }
    if (r.has("perTryTimeout")) {
      checks.duration(r.get("perTryTimeout"), path + ".perTryTimeout");
    }
    String retryOn = r.path("retryOn").asText("");
    if (!retryOn.isEmpty()) {
      for (String policy : retryOn.split(",", -1)) {
        if (!RETRY_ON.contains(policy) && !isHttpStatusCode(policy)) {
          checks.error(path + ".retryOn", "\"" + policy + "\" is not a valid retryOn policy");
        }
      }
    }
    if (r.has("backoff")) {
      checks.duration(r.get("backoff"), path + ".backoff");
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
      checks.error(path, "rewrite may only contain one of URI or UriRegexRewrite");
      return;
    }
    if (!uri && !regexRewrite && r.path("authority").asText("").isEmpty()) {
      checks.error(
          path,
          "rewrite must specify at least one of URI, UriRegexRewrite, or authority. Only one of URI or"
              + " UriRegexRewrite may be specified");
      return;
    }
    if (regexRewrite) {
      JsonNode rr = r.get("uriRegexRewrite");
      if (rr.path("match").asText("").isEmpty() || rr.path("rewrite").asText("").isEmpty()) {
        checks.error(
            path + ".uriRegexRewrite",
            "UriRegexRewrite has errors: UriRegexRewrite requires both Rewrite and"
                + " Match fields to be specified");
      } else {
        checks.regex(
            rr.get("match").asText(),
            "HTTPRewrite.UriRegexRewrite.Match",
            path + ".uriRegexRewrite.match");
      }
    }
  }
}
