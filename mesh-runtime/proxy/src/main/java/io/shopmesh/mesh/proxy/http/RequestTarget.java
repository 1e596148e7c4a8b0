package io.shopmesh.mesh.proxy.http;

import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.HostAndPort;

/** The request's :authority and :path, from an absolute-form URI or the Host header. */
public record RequestTarget(String authority, String pathAndQuery, String path) {

  /** Parses a request's target; throws for a URI or authority that cannot be made sense of. */
  public static RequestTarget of(HttpServerRequest req) {
    String uri = req.uri();
    String auth = null;
    String pathAndQuery;
    if (uri.startsWith("http://") || uri.startsWith("https://")) {
      int s = uri.indexOf("://") + 3;
      int slash = uri.indexOf('/', s);
      int q = uri.indexOf('?', s);
      int end = slash < 0 ? (q < 0 ? uri.length() : q) : (q >= 0 && q < slash ? q : slash);
      auth = uri.substring(s, end);
      String rest = uri.substring(end);
      pathAndQuery = rest.isEmpty() ? "/" : (rest.startsWith("?") ? "/" + rest : rest);
    } else {
      pathAndQuery = uri;
    }
    if (auth == null) {
      HostAndPort hp = req.authority();
      auth =
          hp == null
              ? req.headers().get("host")
              : (hp.port() > 0 ? hp.host() + ":" + hp.port() : hp.host());
    }
    return of(auth, pathAndQuery);
  }

  public static RequestTarget of(String authority, String pathAndQuery) {
    int q = pathAndQuery.indexOf('?');
    return new RequestTarget(
        authority == null ? "" : authority,
        pathAndQuery,
        q < 0 ? pathAndQuery : pathAndQuery.substring(0, q));
  }

  /** The authority's port, or {@code dflt} when it has none. */
  public int port(int dflt) {
    int colon = authority.lastIndexOf(':');
    if (colon > 0 && authority.indexOf(']') < colon) {
      try {
        return Integer.parseInt(authority.substring(colon + 1));
      } catch (NumberFormatException e) {
        return dflt;
      }
    }
    return dflt;
  }

  /** The authority without its port. */
  public String host() {
    int colon = authority.lastIndexOf(':');
    if (colon > 0 && authority.indexOf(']') < colon) {
      return authority.substring(0, colon);
    }
    return authority;
  }
}
