package io.shopmesh.mesh.proxy.router;

import io.shopmesh.mesh.proxy.http.Direction;
import io.shopmesh.mesh.proxy.http.HttpStream;
import io.shopmesh.mesh.wire.IstioMetadata;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** The headers the router sends upstream and passes back downstream, as Envoy's router does. */
final class UpstreamHeaders {
  private UpstreamHeaders() {}

  static final Set<String> HOP_BY_HOP =
      Set.of(
          "connection",
          "keep-alive",
          "proxy-connection",
          "transfer-encoding",
          "upgrade",
          "te",
          "trailer",
          "proxy-authenticate",
          "http2-settings");

  /**
   * One attempt's request headers: the downstream's minus hop-by-hop, Envoy's x-envoy-* and
   * x-forwarded-* headers, the filters' own, then header operations, most specific first.
   */
  static MultiMap request(
      HttpStream s,
      RouteEntryAction.Forward forward,
      RetryState retry,
      Buffer body,
      int attemptNo,
      String originalDst) {
    HttpServerRequest req = s.request();
    MultiMap out = MultiMap.caseInsensitiveMultiMap();
    for (Map.Entry<String, String> e : req.headers()) {
      String k = e.getKey().toLowerCase(Locale.ROOT);
      if (HOP_BY_HOP.contains(k)
          || k.equals("host")
          || k.equals("content-length")
          || k.equals("expect")
          || k.startsWith(":")) {
        continue;
      }
      if (k.equals(IstioMetadata.PEER_METADATA_HEADER)
          || k.equals(IstioMetadata.PEER_METADATA_ID_HEADER)) {
        continue; // istio.stats removes (inbound) or replaces (outbound) them
      }
      out.add(k, e.getValue());
    }
    if (body != null) {
      out.set("content-length", Integer.toString(body.length()));
    }
    out.set("x-request-id", s.requestId());
    // Envoy with xff_num_trusted_hops 0 (Istio's default, sidecars and gateways): the previous hop
    // is not trusted, so its x-forwarded-proto is replaced by this connection's scheme
    out.set("x-forwarded-proto", req.isSSL() ? "https" : "http");
    if (s.direction() == Direction.GATEWAY && req.remoteAddress() != null) {
      // use_remote_address: the gateway appends the peer it saw.
      String remote = req.remoteAddress().host();
      String xff = req.headers().get("x-forwarded-for");
      out.set("x-forwarded-for", xff == null || xff.isEmpty() ? remote : xff + "," + remote);
      out.set("x-envoy-external-address", remote);
    }
    // Envoy's HCM with tracing (Istio configures it by default): egress (outbound, gateway) sends
    // the route's decorator operation upstream; ingress strips it before the app
    if (s.direction() == Direction.INBOUND) {
      out.remove(DECORATOR_OPERATION);
    } else if (s.route() != null && s.route().decoratorOperation() != null) {
      out.set(DECORATOR_OPERATION, s.route().decoratorOperation());
    }
    out.set("x-envoy-attempt-count", Integer.toString(attemptNo));
    if (forward != null && forward.timeoutMs() > 0) {
      long t =
          retry != null && retry.perTryTimeoutMs() > 0
              ? Math.min(retry.perTryTimeoutMs(), forward.timeoutMs())
              : forward.timeoutMs();
      out.set("x-envoy-expected-rq-timeout-ms", Long.toString(t));
    }
    if (forward != null) {
      String rewritten = forward.rewritePath(s.target().pathAndQuery());
      if (rewritten != null && !out.contains("x-envoy-original-path")) {
        out.set("x-envoy-original-path", s.target().path());
      }
    }
    s.encodeUpstreamHeaders(out);
    if (s.direction() == Direction.INBOUND) {
      out.remove("x-envoy-original-dst-host");
    }
    if (originalDst != null) {
      out.set("x-envoy-original-dst-host", originalDst);
    }
    if (s.clusterChoice() != null) {
      s.clusterChoice().requestOps().apply(out);
    }
    if (s.route() != null) {
      s.route().requestOps().apply(out);
    }
    if (s.virtualHost() != null) {
      s.virtualHost().requestOps.apply(out);
    }
    if (s.routeTable() != null) {
      s.routeTable().requestOps.apply(out);
    }
    return out;
  }

  /**
   * Copies an upstream response's headers but hop-by-hop ones; the peer metadata exchange headers
   * are left for istio.stats to read from the upstream response (not worth copying ~400 chars).
   */
  static final String DECORATOR_OPERATION = "x-envoy-decorator-operation";

  /**
   * Envoy's decorator header on a response: egress removes the upstream's (it only names the client
   * span); ingress returns the route's operation unless the request named one itself.
   */
  static void decoratorOnResponse(HttpStream s, MultiMap out) {
    if (s.direction() != Direction.INBOUND) {
      out.remove(DECORATOR_OPERATION);
      return;
    }
    String requested = s.request().headers().get(DECORATOR_OPERATION);
    if ((requested == null || requested.isEmpty())
        && s.route() != null
        && s.route().decoratorOperation() != null) {
      out.set(DECORATOR_OPERATION, s.route().decoratorOperation());
    }
  }

  static void response(MultiMap upstream, MultiMap out, boolean skipPeerMetadata) {
    for (Map.Entry<String, String> e : upstream) {
      String k = e.getKey().toLowerCase(Locale.ROOT);
      if (HOP_BY_HOP.contains(k)) {
        continue;
      }
      if (skipPeerMetadata
          && (k.equals(IstioMetadata.PEER_METADATA_HEADER)
              || k.equals(IstioMetadata.PEER_METADATA_ID_HEADER))) {
        continue;
      }
      out.add(k, e.getValue());
    }
  }
}
