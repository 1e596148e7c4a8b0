package io.shopmesh.mesh.proxy.http;

import io.shopmesh.mesh.proxy.router.RouteTable;
import io.vertx.core.http.HttpServerRequest;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Route matching's view of a request: path, decoded query parameters, headers. */
final class RequestView implements RouteTable.RequestView {
  private final HttpServerRequest req;
  private final RequestTarget target;
  private Map<String, List<String>> query;

  RequestView(HttpServerRequest req, RequestTarget target) {
    this.req = req;
    this.target = target;
  }

  @Override
  public String path() {
    return target.path();
  }

  @Override
  public Map<String, List<String>> queryParams() {
    if (query == null) {
      query = new LinkedHashMap<>();
      String pq = target.pathAndQuery();
      int q = pq.indexOf('?');
      if (q >= 0) {
        for (String kv : pq.substring(q + 1).split("&")) {
          if (kv.isEmpty()) {
            continue;
          }
          int eq = kv.indexOf('=');
          String k = decode(eq < 0 ? kv : kv.substring(0, eq));
          String v = eq < 0 ? "" : decode(kv.substring(eq + 1));
          query.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
        }
      }
    }
    return query;
  }

  @Override
  public String header(String name) {
    switch (name) {
      case ":method":
        return req.method().name();
      case ":path":
        return target.pathAndQuery();
      case ":authority":
      case "host":
        return target.authority();
      case ":scheme":
        return req.isSSL() ? "https" : "http";
      default:
        List<String> all = req.headers().getAll(name);
        return all.isEmpty() ? null : String.join(",", all);
    }
  }

  private static String decode(String s) {
    try {
      return URLDecoder.decode(s, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return s;
    }
  }
}
