package io.shopmesh.mesh.proxy.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundInvoker;
import io.shopmesh.mesh.proxy.ProxyOptions;
import io.shopmesh.mesh.proxy.router.RouteTable;
import io.shopmesh.mesh.proxy.router.RouteTable.ClusterChoice;
import io.shopmesh.mesh.proxy.router.RouteTable.CompiledRoute;
import io.shopmesh.mesh.proxy.stats.AccessLog;
import io.shopmesh.mesh.proxy.stats.ResponseFlags;
import io.shopmesh.mesh.proxy.trace.DecisionRecord;
import io.shopmesh.mesh.proxy.upstream.UpstreamCluster;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.impl.ConnectionBase;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * One request through the connection manager (Envoy's ActiveStream): the downstream request and
 * response, the selected route and cluster, the filter chain and its position, and the {@link
 * StreamInfo}. All of it runs on the event loop of the request's connection.
 */
public final class HttpStream {
  private final ProxyContext ctx;
  private final HttpServerRequest req;
  private final HttpServerResponse resp;
  private final Binding binding;
  private final StreamInfo info = new StreamInfo();
  private final DecisionRecord decision;
  private RequestTarget target;
  private String requestId;
  private RouteTable table;
  private RouteTable.VHost vhost;
  private CompiledRoute route;
  private ClusterChoice choice;
  private UpstreamCluster cluster;
  private final HttpFilterChain defaultChain;
  private List<HttpFilter> filters;
  private int nextFilter;
  private boolean done;
  private boolean destroyed;
  private boolean finished;

  HttpStream(
      ProxyContext ctx, HttpServerRequest req, Binding binding, HttpFilterChain defaultChain) {
    this.ctx = ctx;
    this.defaultChain = defaultChain;
    this.req = req;
    this.resp = req.response();
    this.binding = binding;
    this.target = RequestTarget.of("", req.uri() == null ? "/" : req.uri());
    this.decision =
        ctx.records() != null && ctx.records().enabled()
            ? new DecisionRecord(
                ctx.opts().podName,
                ctx.opts().role == ProxyOptions.Role.ROUTER ? "gateway" : "sidecar",
                binding.direction().name().toLowerCase(Locale.ROOT),
                binding.listenerName())
            : null;
  }

  /** This request's decision record, or null when records are off. */
  public DecisionRecord decision() {
    return decision;
  }

  public ProxyContext context() {
    return ctx;
  }

  public HttpServerRequest request() {
    return req;
  }

  public HttpServerResponse response() {
    return resp;
  }

  public Binding binding() {
    return binding;
  }

  public Direction direction() {
    return binding.direction();
  }

  public StreamInfo info() {
    return info;
  }

  public RequestTarget target() {
    return target;
  }

  void setTarget(RequestTarget t) {
    target = t;
  }

  public String requestId() {
    return requestId;
  }

  void setRequestId(String id) {
    requestId = id;
  }

  /** The route config used, or null (no route config, or passthrough). */
  public RouteTable routeTable() {
    return table;
  }

  public RouteTable.VHost virtualHost() {
    return vhost;
  }

  /** The matched route, or null when the request goes to a cluster without one. */
  public CompiledRoute route() {
    return route;
  }

  void setRoute(RouteTable table, RouteTable.VHost vhost, CompiledRoute route) {
    this.table = table;
    this.vhost = vhost;
    this.route = route;
  }

  /** The cluster the request goes to (chosen when the route matched), or null. */
  public ClusterChoice clusterChoice() {
    return choice;
  }

  public UpstreamCluster cluster() {
    return cluster;
  }

  /** Sets the upstream cluster and the choice that named it. */
  public void setCluster(ClusterChoice c, UpstreamCluster u) {
    choice = c;
    cluster = u;
  }

  void setFilterChain(HttpFilterChain c) {
    filters = c.create();
  }

  /** This request's filters, in decode order (the default chain until the HCM's is known). */
  public List<HttpFilter> filters() {
    if (filters == null) {
      setFilterChain(defaultChain);
    }
    return filters;
  }

  public boolean isDone() {
    return done;
  }

  // ---- decoding ----

  /** Runs the request headers through the remaining filters until one stops. */
  public void continueDecoding() {
    List<HttpFilter> fs = filters();
    while (!done && nextFilter < fs.size()) {
      if (fs.get(nextFilter++).decodeHeaders(this) == HttpFilter.Status.STOP) {
        return;
      }
    }
  }

  // ---- encoding ----

  /**
   * Response headers for downstream: header operations (weighted cluster, route, virtual host,
   * route config), then the filters in reverse order, then Envoy's server and date.
   */
  public void encodeHeaders(MultiMap out, MultiMap upstream) {
    if (choice != null) {
      choice.responseOps().apply(out);
    }
    if (route != null) {
      route.responseOps().apply(out);
    }
    if (vhost != null) {
      vhost.responseOps.apply(out);
    }
    if (table != null) {
      table.responseOps.apply(out);
    }
    List<HttpFilter> fs = filters();
    for (int i = fs.size() - 1; i >= 0; i--) {
      fs.get(i).encodeHeaders(this, out, upstream);
    }
    // Istio's HCMs (util.GetProxyHeaders): server_header_transformation OVERWRITE everywhere,
    // server_name istio-envoy inbound and at the gateway, Envoy's default "envoy" outbound
    out.set("server", direction() == Direction.OUTBOUND ? "envoy" : "istio-envoy");
    if (!out.contains("date")) {
      out.set(
          "date", DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC)));
    }
  }

  /** Headers of an upstream attempt: every filter adds its own, in decode order. */
  public void encodeUpstreamHeaders(MultiMap out) {
    for (HttpFilter f : filters()) {
      f.encodeUpstreamHeaders(this, out);
    }
  }

  /** Envoy's local reply: text/plain body, the status, and the flags already set. */
  public void sendLocalReply(int status, String bodyText, String details) {
    sendLocalReply(status, bodyText, details, -1);
  }

  /**
   * Envoy's local reply; to a gRPC request (content-type application/grpc...) it is a gRPC
   * trailers-only response as Envoy's local reply sends it: HTTP 200, {@code grpc-status} (the
   * given code, else the HTTP status mapped as Envoy's httpToGrpcStatus) and {@code grpc-message}.
   */
  public void sendLocalReply(int status, String bodyText, String details, int grpcStatus) {
    if (isGrpcRequest()) {
      sendGrpcLocalReply(status, bodyText, details, grpcStatus);
      return;
    }
    if (done) {
      return;
    }
    done = true;
    destroy();
    if (details != null) {
      info.setDetails(details);
    }
    if (resp.headWritten() || resp.ended() || resp.closed()) {
      finish(status);
      return;
    }
    encodeHeaders(resp.headers(), null);
    resp.setStatusCode(status);
    if (!req.isEnded() && req.version() != HttpVersion.HTTP_2) {
      // The body was not read: do not keep the connection for another request.
      resp.putHeader("connection", "close");
    }
    // Record before writing, so whoever sees the reply also sees its telemetry.
    if (bodyText != null && !bodyText.isEmpty()) {
      resp.putHeader("content-type", "text/plain");
      Buffer b = Buffer.buffer(bodyText);
      info.setBytesSent(b.length());
      resp.putHeader("content-length", Integer.toString(b.length()));
      finish(status);
      resp.end(b);
    } else {
      resp.putHeader("content-length", "0");
      finish(status);
      resp.end();
    }
  }

  /** Envoy's Grpc::Common::isGrpcRequestHeaders: content-type application/grpc or +suffix. */
  public boolean isGrpcRequest() {
    String ct = req.headers().get("content-type");
    if (ct == null || !ct.regionMatches(true, 0, "application/grpc", 0, 16)) {
      return false;
    }
    return ct.length() == 16 || ct.charAt(16) == '+' || ct.charAt(16) == ';';
  }

  /** Envoy's Grpc::Utility::httpToGrpcStatus. */
  static int httpToGrpcStatus(int http) {
    return switch (http) {
      case 400 -> 13;
      case 401 -> 16;
      case 403 -> 7;
      case 404 -> 12;
      case 429, 502, 503, 504 -> 14;
      default -> 2;
    };
  }

  private void sendGrpcLocalReply(int status, String message, String details, int grpcStatus) {
    if (done) {
      return;
    }
    done = true;
    destroy();
    if (details != null) {
      info.setDetails(details);
    }
    if (resp.headWritten() || resp.ended() || resp.closed()) {
      finish(200);
      return;
    }
    encodeHeaders(resp.headers(), null);
    resp.setStatusCode(200);
    resp.putHeader("content-type", "application/grpc");
    resp.putHeader(
        "grpc-status", Integer.toString(grpcStatus >= 0 ? grpcStatus : httpToGrpcStatus(status)));
    if (message != null && !message.isEmpty()) {
      resp.putHeader("grpc-message", message);
    }
    if (!req.isEnded() && req.version() != HttpVersion.HTTP_2) {
      resp.putHeader("connection", "close");
    }
    resp.putHeader("content-length", "0");
    finish(200);
    resp.end();
  }

  /**
   * A local reply written straight to the connection with an HTTP/1.1 status line, for requests
   * whose own version line cannot be answered in; the connection closes.
   */
  void sendHttp11Reply(int status, String reason, String details) {
    if (done) {
      return;
    }
    done = true;
    destroy();
    info.setDetails(details);
    String head =
        "HTTP/1.1 "
            + status
            + " "
            + reason
            + "\r\ncontent-length: "
            + reason.length()
            + "\r\ncontent-type: text/plain\r\ndate: "
            + DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC))
            + "\r\nserver: istio-envoy\r\nconnection: close\r\n\r\n";
    info.setBytesSent(reason.length());
    finish(status);
    if (req.connection() instanceof ConnectionBase cb) {
      // Below the HTTP response encoder (which would refuse raw bytes), above TLS.
      ChannelHandlerContext encoder = cb.channel().pipeline().context("httpEncoder");
      ChannelOutboundInvoker out = encoder != null ? encoder : cb.channel();
      out.writeAndFlush(Unpooled.copiedBuffer(head + reason, StandardCharsets.ISO_8859_1))
          .addListener(ChannelFutureListener.CLOSE);
    }
  }

  /** Writes what is pending now: a reply made while Vert.x is about to close the connection. */
  private void flush() {
    if (req.connection() instanceof ConnectionBase cb) {
      cb.channel().flush();
    }
  }

  /** The proxied response ended: record, then end it downstream. */
  public void complete(int status) {
    if (done) {
      return;
    }
    done = true;
    destroy();
    finish(status);
    resp.end();
  }

  /** Aborts a response already under way (upstream reset or timeout after headers). */
  public void resetDownstream() {
    done = true;
    destroy();
    finish(resp.getStatusCode());
    resp.reset();
    req.connection().close();
  }

  /** The downstream went away before the response was complete (DC; 0 when none was sent). */
  void onDownstreamClose() {
    if (!done) {
      done = true;
      info.setResponseFlag(ResponseFlags.DC);
      destroy();
      finish(resp.headWritten() ? resp.getStatusCode() : 0);
    }
  }

  /** The request stream failed: a codec error (bad chunk) is Envoy's 400 DPE. */
  void onDownstreamError(Throwable t) {
    if (!done && Http1Codec.isCodecError(t)) {
      info.setResponseFlag(ResponseFlags.DPE);
      sendLocalReply(400, "Bad Request", Http1Codec.CODEC_ERROR);
      flush();
    }
  }

  private void destroy() {
    if (destroyed) {
      return;
    }
    destroyed = true;
    for (HttpFilter f : filters()) {
      f.onDestroy(this);
    }
  }

  /** Telemetry and the access log line, once. */
  public void finish(int status) {
    if (finished) {
      return;
    }
    finished = true;
    done = true;
    destroy();
    for (HttpFilter f : filters()) {
      f.onStreamComplete(this, status);
    }
    if (decision != null) {
      if (choice != null) {
        decision.cluster(choice.cluster());
      }
      decision.end(
          status, ResponseFlags.toString(info.responseFlags()), info.details(), durationMs());
      ctx.records().add(decision);
    }
    AccessLog log = ctx.accessLog();
    if (!log.enabled()) {
      return;
    }
    AccessLog.Entry e = new AccessLog.Entry();
    e.start = info.start();
    e.method = req.method().name();
    String orig = req.headers().get("x-envoy-original-path");
    e.path = orig != null ? orig : target.pathAndQuery();
    e.protocol =
        req.version() == HttpVersion.HTTP_2
            ? "HTTP/2"
            : (req.version() == HttpVersion.HTTP_1_0 ? "HTTP/1.0" : "HTTP/1.1");
    e.status = status;
    e.flags = info.responseFlags();
    e.details = info.details();
    e.bytesReceived = info.bytesReceived();
    e.bytesSent = info.bytesSent();
    e.durationMs = durationMs();
    e.upstreamServiceTime =
        info.upstreamServiceTime() >= 0 ? Long.toString(info.upstreamServiceTime()) : "-";
    e.xff = orDash(req.headers().get("x-forwarded-for"));
    e.userAgent = orDash(req.headers().get("user-agent"));
    e.requestId = orDash(requestId);
    e.authority = orDash(target.authority());
    e.upstreamHost = info.upstreamHost() != null ? info.upstreamHost() : "-";
    e.upstreamCluster = choice != null ? choice.cluster() : "-";
    e.downstreamLocal = req.localAddress() == null ? "-" : req.localAddress().toString();
    e.downstreamRemote = req.remoteAddress() == null ? "-" : req.remoteAddress().toString();
    e.routeName = route != null && !route.name().isEmpty() ? route.name() : "-";
    log.log(e);
  }

  public long durationMs() {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - info.startNanos());
  }

  private static String orDash(String s) {
    return s == null || s.isEmpty() ? "-" : s;
  }
}
