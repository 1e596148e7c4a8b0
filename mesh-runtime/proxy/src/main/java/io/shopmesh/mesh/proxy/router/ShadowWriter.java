package io.shopmesh.mesh.proxy.router;

import io.shopmesh.mesh.proxy.ProxyOptions;
import io.shopmesh.mesh.proxy.http.HttpStream;
import io.shopmesh.mesh.proxy.router.RouteTable.Mirror;
import io.shopmesh.mesh.proxy.upstream.Host;
import io.shopmesh.mesh.proxy.upstream.UpstreamCluster;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.SocketAddress;

/**
 * request_mirror_policies (Envoy's ShadowWriter): a fire-and-forget copy of the request to the
 * mirror cluster, its authority suffixed "-shadow"; the answer is read and dropped.
 */
final class ShadowWriter {
  private ShadowWriter() {}

  static void shadow(
      Vertx vertx,
      ProxyOptions opts,
      HttpStream s,
      UpstreamCluster mc,
      RouteEntryAction.Forward forward,
      RetryState retry,
      String path,
      Buffer body) {
    Host h = mc.choose(x -> false, null);
    if (h == null) {
      return;
    }
    int port = s.target().port(-1);
    String host = s.target().host() + "-shadow";
    boolean viaSidecar = h.sidecar && opts.interceptionNone;
    MultiMap headers =
        UpstreamHeaders.request(s, forward, retry, body, 1, viaSidecar ? h.key() : null);
    RequestOptions ro =
        new RequestOptions()
            .setServer(
                SocketAddress.inetSocketAddress(
                    viaSidecar
                        ? opts.peerInboundPort
                        : UpstreamRequest.offsetPort(opts, h.address, h.port),
                    h.address))
            .setMethod(s.request().method())
            .setURI(path)
            .setHost(h.address)
            .setHeaders(headers)
            .setTimeout(forward.timeoutMs() > 0 ? forward.timeoutMs() : 30_000);
    mc.client(vertx)
        .request(ro)
        .onSuccess(
            cr -> {
              cr.authority(HostAndPort.create(host, port));
              cr.response()
                  .onSuccess(r -> r.handler(x -> {}).exceptionHandler(x -> {}).endHandler(x -> {}));
              cr.exceptionHandler(x -> {});
              if (body != null) {
                cr.end(body);
              } else {
                cr.end();
              }
            });
  }

  /** Mirrors a request to each policy's cluster that samples it. */
  static void mirror(
      Vertx vertx,
      ProxyOptions opts,
      HttpStream s,
      RouteEntryAction.Forward forward,
      RetryState retry,
      String path,
      Buffer body) {
    for (Mirror m : forward.mirrors()) {
      boolean sampled = RouteTable.sample(m.fraction());
      if (s.decision() != null) {
        s.decision().mirror(m.cluster(), sampled);
      }
      if (sampled) {
        UpstreamCluster mc = s.context().xds().clusterManager().get(m.cluster());
        if (mc != null) {
          shadow(vertx, opts, s, mc, forward, retry, path, body);
        }
      }
    }
  }
}
