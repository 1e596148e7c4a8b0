package io.shopmesh.mesh.proxy.http;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;

/**
 * Request checks Envoy's HTTP/1 codec makes before any filter runs. Each rejection carries Envoy's
 * status, body and response code details; the connection manager answers it with DPE.
 */
public final class Http1Codec {
  private Http1Codec() {}

  /** A request the codec refuses. */
  public record Rejection(int status, String body, String details) {}

  /** The rejection for a request, or null when the codec accepts it. */
  public static Rejection check(HttpServerRequest req) {
    if (req.version() == HttpVersion.HTTP_2) {
      return null;
    }
    MultiMap h = req.headers();
    // No smuggling: Envoy rejects Content-Length together with Transfer-Encoding.
    if (h.contains(HttpHeaders.CONTENT_LENGTH) && h.contains(HttpHeaders.TRANSFER_ENCODING)) {
      return new Rejection(400, "Bad Request", "http1.content_length_and_chunked_not_allowed");
    }
    return null;
  }
}
