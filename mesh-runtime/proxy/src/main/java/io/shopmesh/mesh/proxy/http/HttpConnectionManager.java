package io.shopmesh.mesh.proxy.http;

import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.shopmesh.mesh.proxy.NodeInfo;
import io.shopmesh.mesh.proxy.router.RouteEntryAction;
import io.shopmesh.mesh.proxy.router.RouteTable;
import io.shopmesh.mesh.proxy.router.RouteTable.ClusterChoice;
import io.shopmesh.mesh.proxy.router.RouteTable.CompiledRoute;
import io.shopmesh.mesh.proxy.stats.AccessLog;
import io.shopmesh.mesh.proxy.stats.IstioMetrics;
import io.shopmesh.mesh.proxy.stats.ResponseFlags;
import io.shopmesh.mesh.proxy.trace.DecisionRecord;
import io.shopmesh.mesh.proxy.trace.DecisionRecords;
import io.shopmesh.mesh.proxy.upstream.ClusterManager;
import io.shopmesh.mesh.proxy.upstream.UpstreamCluster;
import io.shopmesh.mesh.proxy.xds.RouteConfigRef;
import io.shopmesh.mesh.proxy.xds.XdsState;
import io.shopmesh.mesh.wire.ClusterNames;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Envoy's HTTP connection manager for every HTTP listener of the proxy. For each request, top to
 * bottom:
 *
 * <ol>
 *   <li>the HTTP/1 codec's checks ({@link Http1Codec});
 *   <li>the request's target, x-request-id;
 *   <li>the route config of the listener's filter chain (RDS by port outbound, virtualInbound's
 *       chain for the destination port inbound, the SNI-selected chain at a gateway), its virtual
 *       host and first matching route, and the weighted cluster (picked now, so that local replies
 *       still name the destination);
 *   <li>the filter chain of that HTTP connection manager ({@link HttpFilterChains}): fault, CORS,
 *       istio.stats, router. The router ({@code RouterFilter}) forwards through an {@code
 *       UpstreamRequest} or answers redirects and direct responses;
 *   <li>when the stream ends: istio.stats records the metrics, then one access log line.
 * </ol>
 *
 * All work for one request runs on the event loop of its connection.
 */
public final class HttpConnectionManager {
  private final ProxyContext ctx;
  private final HttpFilterChains chains;

  public HttpConnectionManager(
      Vertx vertx,
      XdsState xds,
      NodeInfo node,
      IstioMetrics metrics,
      AccessLog log,
      DecisionRecords records) {
    this.ctx = new ProxyContext(vertx, xds, node, node.options(), metrics, log, records);
    this.chains = new HttpFilterChains(ctx);
    xds.onListeners(chains::onListeners);
  }

  public void handle(HttpServerRequest req, Binding b) {
    HttpStream s = new HttpStream(ctx, req, b, chains.defaultChain());
    try {
      decodeHeaders(s);
    } catch (RuntimeException ex) {
      // A request we cannot make sense of (bad authority, bad URI): Envoy answers 400.
      s.info().setResponseFlag(ResponseFlags.DPE);
      s.sendLocalReply(400, "Bad Request", "invalid_request");
    }
  }

  /**
   * A request the HTTP/1 decoder could not parse (request line, header syntax or size): Envoy's
   * codec error reply (DPE), logged like any other; the connection closes.
   */
  public void handleInvalid(HttpServerRequest req, Binding b) {
    HttpStream s = new HttpStream(ctx, req, b, chains.defaultChain());
    s.info().setResponseFlag(ResponseFlags.DPE);
    Throwable cause = req.decoderResult() == null ? null : req.decoderResult().cause();
    if (cause instanceof TooLongHttpLineException) {
      s.sendLocalReply(414, "URI Too Long", "http1.headers_too_large");
    } else if (cause instanceof TooLongHttpHeaderException) {
      s.sendLocalReply(431, "Request Header Fields Too Large", "http1.headers_too_large");
    } else if (req.version() == null) {
      // Not HTTP/1.0 or 1.1 (e.g. HTTP/2.0): answered in HTTP/1.1, as Envoy's codec does.
      s.sendHttp11Reply(400, "Bad Request", Http1Codec.CODEC_ERROR);
      return;
    } else {
      s.sendLocalReply(400, "Bad Request", Http1Codec.CODEC_ERROR);
    }
    s.response().close();
  }

  private void decodeHeaders(HttpStream s) {
    HttpServerRequest req = s.request();
    req.pause();
    Http1Codec.Rejection bad = Http1Codec.check(req);
    if (bad != null) {
      s.info().setResponseFlag(ResponseFlags.DPE);
      s.response().putHeader("connection", "close");
      s.sendLocalReply(bad.status(), bad.body(), bad.details());
      return;
    }
    MultiMap h = req.headers();
    s.info()
        .setRequestHeaderBytes(headerBytes(h) + req.method().name().length() + req.uri().length());
    s.response().closeHandler(v -> s.onDownstreamClose());
    req.exceptionHandler(s::onDownstreamError);
    s.setTarget(RequestTarget.of(req));
    if (s.target().authority().isEmpty()) {
      // Envoy requires a host (HTTP/1.0 too, without default_host_for_http_10).
      s.sendLocalReply(400, null, "missing_host_header");
      return;
    }
    String id = h.get("x-request-id");
    s.setRequestId(id == null || id.isEmpty() ? newRequestId() : id);
    DecisionRecord rec = s.decision();
    if (rec != null) {
      rec.request(s.requestId(), req.method().name(), s.target().authority(), req.path());
    }
    if (req.method() == HttpMethod.CONNECT) {
      // Envoy's routes match CONNECT only with a connect_matcher, which Istio does not emit here.
      noRoute(s);
      return;
    }
    RouteConfigRef ref = routeConfig(s);
    s.setFilterChain(chains.forRouteConfig(ref));
    RouteTable table = ctx.xds().routeTable(ref);
    if (rec != null) {
      rec.filterChain(String.join(",", s.filters().stream().map(HttpFilter::name).toList()));
      rec.routeConfig(table == null ? null : table.name());
    }
    if (table != null && sslRedirect(s, table)) {
      return;
    }
    if (table == null && blackHoled(s)) {
      return;
    }
    if (table == null ? !routeWithoutConfig(s) : !selectRoute(s, table)) {
      noRoute(s);
      return;
    }
    s.continueDecoding();
  }

  /** The route config of the filter chain this request arrived on. */
  private RouteConfigRef routeConfig(HttpStream s) {
    Binding b = s.binding();
    HttpServerRequest req = s.request();
    return switch (b.direction()) {
      case OUTBOUND -> new RouteConfigRef.Rds(Integer.toString(s.target().port(80)));
      case INBOUND -> ctx.xds().inboundRouteConfig(inboundPort(s));
      case GATEWAY ->
          req.isSSL() ? b.routeConfigFor(req.connection().indicatedServerName()) : b.routeConfig();
    };
  }

  /** The destination port inbound: the listener's, or x-envoy-original-dst-host's locally. */
  public static int inboundPort(HttpStream s) {
    String dst = s.request().headers().get("x-envoy-original-dst-host");
    if (dst != null && s.context().opts().interceptionNone) {
      try {
        return Integer.parseInt(dst.substring(dst.lastIndexOf(':') + 1));
      } catch (RuntimeException e) {
        return s.binding().port();
      }
    }
    return s.binding().port();
  }

  /**
   * No route config for the port: outbound goes where virtualOutbound's catch-all chain sends it
   * (PassthroughCluster with ALLOW_ANY; with REGISTRY_ONLY BlackHoleCluster, whose tcp_proxy closes
   * the connection: UH), inbound straight to inbound|PORT|| (no virtualInbound chain for it). False
   * when neither exists.
   */
  private boolean routeWithoutConfig(HttpStream s) {
    ClusterManager cm = ctx.xds().clusterManager();
    String name =
        switch (s.direction()) {
          case OUTBOUND -> ctx.xds().outboundCatchAllCluster();
          case INBOUND -> ClusterNames.inbound(inboundPort(s));
          case GATEWAY -> null;
        };
    UpstreamCluster c = name == null ? null : cm.get(name);
    if (c == null) {
      return false;
    }
    s.setCluster(ClusterChoice.of(name), c);
    return true;
  }

  /** Outbound to a port without a listener under REGISTRY_ONLY: the connection is closed. */
  private boolean blackHoled(HttpStream s) {
    String name = ctx.xds().outboundCatchAllCluster();
    if (s.direction() != Direction.OUTBOUND || !ClusterNames.BLACK_HOLE.equals(name)) {
      return false;
    }
    s.setCluster(ClusterChoice.of(name), ctx.xds().clusterManager().get(name));
    s.info().setResponseFlag(ResponseFlags.UH);
    s.resetDownstream();
    return true;
  }

  /**
   * Envoy's SSL redirect route: a virtual host with {@code require_tls} answers a request that did
   * not come over TLS with 301 and {@code location: https://<host><path>} (the Host as sent, the
   * path with its query), before any route is matched.
   */
  private static boolean sslRedirect(HttpStream s, RouteTable table) {
    RouteTable.VHost vhost = table.virtualHost(s.target().authority());
    if (vhost == null || !vhost.redirectsToTls(s.request().isSSL())) {
      return false;
    }
    s.response()
        .putHeader("location", "https://" + s.target().authority() + s.target().pathAndQuery());
    s.sendLocalReply(301, null, null);
    return true;
  }

  /** Virtual host by authority, first matching route; false when none matches. */
  private boolean selectRoute(HttpStream s, RouteTable table) {
    RouteTable.VHost vhost = table.virtualHost(s.target().authority());
    DecisionRecord rec = s.decision();
    if (rec != null) {
      rec.virtualHost(vhost == null ? null : vhost.name);
    }
    if (vhost == null) {
      return false;
    }
    RequestView view = new RequestView(s.request(), s.target());
    CompiledRoute route = rec == null ? vhost.match(view) : vhost.matchExplained(view, rec);
    if (route == null) {
      return false;
    }
    s.setRoute(table, vhost, route);
    if (route.action() instanceof RouteEntryAction.Forward f) {
      // Envoy picks the weighted cluster when the route matches; telemetry of local replies
      // (faults, CORS) then still names the destination service.
      ClusterChoice choice = f.pickCluster();
      s.setCluster(choice, ctx.xds().clusterManager().get(choice.cluster()));
      if (rec != null) {
        if (f.clusters().size() > 1) {
          JsonArray weights = new JsonArray();
          for (ClusterChoice c : f.clusters()) {
            weights.add(new JsonObject().put("cluster", c.cluster()).put("weight", c.weight()));
          }
          rec.weightedPick(weights, choice.cluster());
        }
        rec.timeouts(f.timeoutMs(), f.retry() == null ? 0 : f.retry().perTryTimeoutMs);
      }
    }
    return true;
  }

  private static void noRoute(HttpStream s) {
    s.info().setResponseFlag(ResponseFlags.NR);
    s.sendLocalReply(404, null, "route_not_found");
  }

  static long headerBytes(MultiMap h) {
    long n = 0;
    for (Map.Entry<String, String> e : h) {
      n += e.getKey().length() + e.getValue().length();
    }
    return n;
  }

  /**
   * A version 4 UUID for x-request-id, as Envoy generates one, from ThreadLocalRandom: not
   * UUID.randomUUID(), whose SecureRandom is shared by all event loops and costs a lock per
   * request.
   */
  public static String newRequestId() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long msb = (r.nextLong() & ~0xF000L) | 0x4000L;
    long lsb = (r.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
    return new UUID(msb, lsb).toString();
  }
}
