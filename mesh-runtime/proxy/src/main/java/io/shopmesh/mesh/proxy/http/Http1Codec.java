package io.shopmesh.mesh.proxy.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpRequest;
import io.vertx.core.MultiMap;
import io.vertx.core.VertxException;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.impl.ConnectionBase;
import java.util.List;

/**
 * Request checks Envoy's HTTP/1 codec makes before any filter runs. Each rejection carries Envoy's
 * status, body and response code details; the connection manager answers it with DPE.
 */
public final class Http1Codec {
  private Http1Codec() {}

  /** A request the codec refuses. */
  public record Rejection(int status, String body, String details) {}

  /** Envoy's default max_headers_count. */
  public static final int MAX_HEADERS_COUNT = 100;

  /** The rejection for a request, or null when the codec accepts it. */
  public static Rejection check(HttpServerRequest req) {
    if (req.version() == null) {
      // A request line with another version (HTTP/2.0, HTTP/1.2): Envoy's HTTP/1 parser fails.
      return new Rejection(400, "Bad Request", CODEC_ERROR);
    }
    if (req.version() == HttpVersion.HTTP_2) {
      return null;
    }
    MultiMap h = req.headers();
    if (h.entries().size() > MAX_HEADERS_COUNT) {
      return new Rejection(431, "Request Header Fields Too Large", "http1.too_many_headers");
    }
    // No smuggling: Envoy rejects Content-Length together with any Transfer-Encoding.
    if (h.contains(HttpHeaders.CONTENT_LENGTH) && h.contains(HttpHeaders.TRANSFER_ENCODING)) {
      return new Rejection(400, "Bad Request", "http1.content_length_and_chunked_not_allowed");
    }
    // RFC 9112 6.1: a coding the server does not understand is 501; Envoy knows only chunked.
    List<String> te = h.getAll(HttpHeaders.TRANSFER_ENCODING);
    if (!te.isEmpty()
        && (te.size() > 1
            || !te.get(0).trim().equalsIgnoreCase("chunked")
            || req.method() == HttpMethod.CONNECT)) {
      return new Rejection(501, "Not Implemented", "http1.invalid_transfer_encoding");
    }
    // RFC 9112 3.2: more than one Host is a bad request.
    if (h.getAll(HttpHeaders.HOST).size() > 1) {
      return new Rejection(400, "Bad Request", CODEC_ERROR);
    }
    return null;
  }

  /** Envoy's details for an HTTP/1 parse error. */
  public static final String CODEC_ERROR = "http1.codec_error";

  /** An error of the request stream that is the codec's (bad chunk, bad framing), not a close. */
  public static boolean isCodecError(Throwable t) {
    return !(t instanceof HttpClosedException)
        && !(t instanceof VertxException && String.valueOf(t.getMessage()).contains("closed"));
  }

  /**
   * Lets a request line with a version other than HTTP/1.0 or 1.1 reach the invalid-request handler
   * (Vert.x would answer 501 in that version itself): marked as a decoder failure on the
   * connection's pipeline before Vert.x sees it.
   */
  public static void install(HttpConnection conn) {
    if (conn instanceof ConnectionBase cb && cb.channel().pipeline().get("handler") != null) {
      cb.channel().pipeline().addBefore("handler", "http1-version", new VersionCheck());
    }
  }

  private static final class VersionCheck extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpRequest r
          && r.decoderResult().isSuccess()
          && (r.protocolVersion().majorVersion() != 1 || r.protocolVersion().minorVersion() > 1)) {
        r.setDecoderResult(
            DecoderResult.failure(
                new IllegalArgumentException("unsupported version " + r.protocolVersion())));
      }
      ctx.fireChannelRead(msg);
    }
  }
}
