package io.shopmesh.mesh.proxy.http;

import io.vertx.core.MultiMap;

/**
 * One HTTP filter of a connection manager's chain, one instance per request (as Envoy creates
 * filters per stream). Request headers pass through the filters in order; response headers, local
 * or proxied, in reverse order. A filter that answers or waits returns {@link Status#STOP} and
 * later either replies ({@link HttpStream#sendLocalReply}) or resumes the chain ({@link
 * HttpStream#continueDecoding}). Everything a filter learns or decides goes onto the {@link
 * HttpStream} (its {@link StreamInfo}), where the access log and later filters read it.
 */
public interface HttpFilter {

  /** Envoy's FilterHeadersStatus. */
  enum Status {
    CONTINUE,
    STOP
  }

  /** The filter's name as it appears in the HCM's http_filters. */
  String name();

  /** Request headers, after route selection. */
  Status decodeHeaders(HttpStream stream);

  /**
   * Response headers about to be sent downstream; {@code upstream} holds the upstream response's
   * headers when the response is proxied, null for a local reply.
   */
  default void encodeHeaders(HttpStream stream, MultiMap headers, MultiMap upstream) {}

  /** Headers of each upstream attempt, after the router's own and before route header ops. */
  default void encodeUpstreamHeaders(HttpStream stream, MultiMap headers) {}

  /** The stream is over (answered, reset or abandoned): release resources, cancel timers. */
  default void onDestroy(HttpStream stream) {}

  /** Last, once per request, before the access log line (Envoy's access-log callback). */
  default void onStreamComplete(HttpStream stream, int status) {}
}
