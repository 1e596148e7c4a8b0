package io.shopmesh.mesh.proxy.http.filter;

import io.shopmesh.mesh.proxy.http.HttpFilter;
import io.shopmesh.mesh.proxy.http.HttpStream;
import io.shopmesh.mesh.proxy.router.Cors;
import io.shopmesh.mesh.proxy.router.RouteTable.CompiledRoute;
import io.shopmesh.mesh.wire.Wellknown;
import io.vertx.core.MultiMap;

/**
 * envoy.filters.http.cors: answers an allowed preflight itself, and adds the CORS response headers
 * for an allowed origin. The policy is the route's, else its virtual host's.
 */
public final class CorsFilter implements HttpFilter {

  @Override
  public String name() {
    return Wellknown.CORS;
  }

  @Override
  public Status decodeHeaders(HttpStream s) {
    Cors cors = policy(s);
    String origin = s.request().headers().get("origin");
    if (cors != null
        && Cors.isPreflight(s.request().method().name(), s.request().headers())
        && cors.originAllowed(origin)) {
      cors.preflightHeaders(origin, s.response().headers());
      s.info().setDetails("cors_response");
      s.sendLocalReply(200, null, null);
      return Status.STOP;
    }
    return Status.CONTINUE;
  }

  @Override
  public void encodeHeaders(HttpStream s, MultiMap headers, MultiMap upstream) {
    Cors cors = policy(s);
    String origin = s.request().headers().get("origin");
    if (cors != null && origin != null && cors.originAllowed(origin)) {
      cors.simpleHeaders(origin, headers);
    }
  }

  private static Cors policy(HttpStream s) {
    CompiledRoute r = s.route();
    if (r == null) {
      return null;
    }
    return r.cors() != null ? r.cors() : r.vhost().cors;
  }
}
