package io.shopmesh.mesh.proxy.router;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.route.v3.CorsPolicy;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.vertx.core.MultiMap;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/** Envoy's CORS filter for one route or virtual host. */
public final class Cors {
  private final List<Predicate<String>> origins;
  private final String allowMethods;
  private final String allowHeaders;
  private final String exposeHeaders;
  private final String maxAge;
  private final boolean allowCredentials;

  private Cors(
      List<StringMatcher> origins,
      String methods,
      String headers,
      String expose,
      String maxAge,
      boolean credentials) {
    this.origins = new ArrayList<>();
    for (StringMatcher m : origins) {
      this.origins.add(Matchers.string(m));
    }
    this.allowMethods = methods;
    this.allowHeaders = headers;
    this.exposeHeaders = expose;
    this.maxAge = maxAge;
    this.allowCredentials = credentials;
  }

  static Cors of(CorsPolicy route, Any typed) {
    if (route != null) {
      return new Cors(
          route.getAllowOriginStringMatchList(),
          route.getAllowMethods(),
          route.getAllowHeaders(),
          route.getExposeHeaders(),
          route.getMaxAge(),
          route.hasAllowCredentials() && route.getAllowCredentials().getValue());
    }
    if (typed != null) {
      io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy c =
          RouteTable.unpack(
              typed, io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy.class, "cors");
      return new Cors(
          c.getAllowOriginStringMatchList(),
          c.getAllowMethods(),
          c.getAllowHeaders(),
          c.getExposeHeaders(),
          c.getMaxAge(),
          c.hasAllowCredentials() && c.getAllowCredentials().getValue());
    }
    return null;
  }

  public boolean originAllowed(String origin) {
    if (origin == null) {
      return false;
    }
    for (Predicate<String> p : origins) {
      if (p.test(origin)) {
        return true;
      }
    }
    return false;
  }

  /** A preflight: OPTIONS with Origin and Access-Control-Request-Method. */
  public static boolean isPreflight(String method, MultiMap h) {
    return "OPTIONS".equals(method)
        && h.contains("origin")
        && h.contains("access-control-request-method");
  }

  public void preflightHeaders(String origin, MultiMap out) {
    out.set("access-control-allow-origin", origin);
    if (allowCredentials) {
      out.set("access-control-allow-credentials", "true");
    }
    if (!allowMethods.isEmpty()) {
      out.set("access-control-allow-methods", allowMethods);
    }
    if (!allowHeaders.isEmpty()) {
      out.set("access-control-allow-headers", allowHeaders);
    }
    if (!maxAge.isEmpty()) {
      out.set("access-control-max-age", maxAge);
    }
  }

  public void simpleHeaders(String origin, MultiMap out) {
    out.set("access-control-allow-origin", origin);
    if (allowCredentials) {
      out.set("access-control-allow-credentials", "true");
    }
    if (!exposeHeaders.isEmpty()) {
      out.set("access-control-expose-headers", exposeHeaders);
    }
  }
}
