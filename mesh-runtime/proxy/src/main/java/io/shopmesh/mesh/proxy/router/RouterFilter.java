package io.shopmesh.mesh.proxy.router;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.shopmesh.mesh.proxy.http.HttpFilter;
import io.shopmesh.mesh.proxy.http.HttpStream;
import io.shopmesh.mesh.proxy.http.ProxyContext;
import io.shopmesh.mesh.proxy.router.RouteTable.CompiledRoute;
import io.shopmesh.mesh.proxy.stats.ResponseFlags;
import io.shopmesh.mesh.proxy.upstream.UpstreamCluster;
import io.shopmesh.mesh.wire.ClusterNames;
import io.shopmesh.mesh.wire.Wellknown;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;

/**
 * envoy.filters.http.router, the terminal filter: carries out the route's action. A redirect or a
 * direct response is answered here; a forward reads (or streams) the body and hands the request to
 * an {@link UpstreamRequest}.
 */
public final class RouterFilter implements HttpFilter {
  /** Request bodies up to this size are buffered (and so can be retried and mirrored). */
  static final int BUFFER_LIMIT = 64 * 1024;

  /** Per proxy. */
  public record Config(ProxyContext ctx) {}

  private final Config cfg;
  private UpstreamRequest upstream;

  public RouterFilter(Config cfg) {
    this.cfg = cfg;
  }

  @Override
  public String name() {
    return Wellknown.ROUTER;
  }

  @Override
  public Status decodeHeaders(HttpStream s) {
    CompiledRoute route = s.route();
    RouteEntryAction action = route == null ? null : route.action();
    if (action instanceof RouteEntryAction.DirectResponse d) {
      s.info().setDetails("direct_response");
      s.sendLocalReply(d.status(), d.body(), null);
    } else if (action instanceof RouteEntryAction.Redirect r) {
      HttpServerRequest req = s.request();
      // Envoy serves the redirect on the scheme of the original URL (:scheme), not
      // x-forwarded-proto.
      String proto = req.scheme();
      if (proto == null || proto.isEmpty()) {
        proto = req.isSSL() ? "https" : "http";
      }
      s.response()
          .putHeader(
              "location", r.location(proto, s.target().authority(), s.target().pathAndQuery()));
      s.info().setDetails("via_route");
      s.sendLocalReply(r.status(), null, null);
    } else if (action instanceof RouteEntryAction.NonForwarding) {
      s.sendLocalReply(200, null, null);
    } else {
      // A forward, or no route: the cluster chosen by the connection manager.
      forward(s);
    }
    return Status.STOP;
  }

  private void forward(HttpStream s) {
    if (ClusterNames.PASSTHROUGH.equals(s.clusterChoice().cluster())) {
      passthrough(s);
      return;
    }
    UpstreamCluster c = s.cluster();
    if (c == null) {
      s.info().setResponseFlag(ResponseFlags.NC);
      s.info().setDetails("cluster_not_found");
      s.sendLocalReply(503, null, null);
      return;
    }
    if (c.type == Cluster.DiscoveryType.ORIGINAL_DST) {
      passthrough(s);
      return;
    }
    readBodyThenForward(s, null);
  }

  /** To the original destination: the authority, resolved through the hosts file. */
  private void passthrough(HttpStream s) {
    var cm = cfg.ctx().xds().clusterManager();
    String host = s.target().host();
    String ip = cm.resolver().fromHostsFile(host);
    UpstreamCluster c = cm.get(ClusterNames.PASSTHROUGH);
    s.setCluster(s.clusterChoice(), c);
    if (c == null) {
      s.info().setResponseFlag(ResponseFlags.NC);
      s.sendLocalReply(503, null, "cluster_not_found");
      return;
    }
    readBodyThenForward(
        s, new UpstreamRequest.Passthrough(ip != null ? ip : host, s.target().port(80)));
  }

  /** Buffers a small body (so that it can be retried), streams a large or chunked one. */
  private void readBodyThenForward(HttpStream s, UpstreamRequest.Passthrough to) {
    HttpServerRequest req = s.request();
    MultiMap h = req.headers();
    String cl = h.get(HttpHeaders.CONTENT_LENGTH);
    boolean chunked =
        h.contains(HttpHeaders.TRANSFER_ENCODING)
            || (req.version() == HttpVersion.HTTP_2
                && cl == null
                && !req.isEnded()
                && req.method() != HttpMethod.GET
                && req.method() != HttpMethod.HEAD);
    long len = -1;
    if (cl != null) {
      try {
        len = Long.parseLong(cl.trim());
      } catch (NumberFormatException e) {
        s.sendLocalReply(400, "Bad Request", "http1.invalid_content_length");
        return;
      }
    }
    if (!chunked && len <= 0) {
      if (req.isEnded()) {
        startUpstream(s, to, null, false);
      } else {
        req.endHandler(v -> startUpstream(s, to, null, false));
        req.handler(b -> {});
        req.resume();
      }
      return;
    }
    if (!chunked && len <= BUFFER_LIMIT) {
      req.body()
          .onSuccess(
              b -> {
                s.info().addBytesReceived(b.length());
                startUpstream(s, to, b, false);
              })
          .onFailure(
              t -> {
                if (!s.isDone()) {
                  s.info().setResponseFlag(ResponseFlags.DC);
                  s.finish(0);
                }
              });
      req.resume();
      return;
    }
    // Too large to buffer: stream it with back-pressure; no retries (as Envoy past its buffer).
    startUpstream(s, to, null, true);
  }

  private void startUpstream(
      HttpStream s, UpstreamRequest.Passthrough to, Buffer body, boolean streaming) {
    if (s.isDone()) {
      return;
    }
    upstream = new UpstreamRequest(cfg.ctx().vertx(), cfg.ctx().opts(), s, to, body, streaming);
    upstream.start();
  }

  @Override
  public void onDestroy(HttpStream s) {
    if (upstream != null) {
      upstream.cancel();
    }
  }
}
