package io.shopmesh.mesh.proxy.router;

import io.shopmesh.mesh.proxy.ProxyOptions;
import io.shopmesh.mesh.proxy.http.Direction;
import io.shopmesh.mesh.proxy.http.HttpStream;
import io.shopmesh.mesh.proxy.router.RouteTable.ClusterChoice;
import io.shopmesh.mesh.proxy.router.RouteTable.HashPolicySpec;
import io.shopmesh.mesh.proxy.stats.ResponseFlags;
import io.shopmesh.mesh.proxy.upstream.Host;
import io.shopmesh.mesh.proxy.upstream.LoadBalancer;
import io.shopmesh.mesh.proxy.upstream.UpstreamCluster;
import io.shopmesh.mesh.proxy.upstream.UpstreamCluster.RequestLease;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.StreamResetException;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.SocketAddress;
import java.net.ConnectException;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The router's request upstream (Envoy's UpstreamRequest with the router's retry loop): one attempt
 * at a time to a host of the cluster, each under a circuit-breaker lease; retries with backoff per
 * the route's retry policy; the per-try and the route's global timeout; mirrors; and the response
 * streamed back downstream. Late callbacks of a settled attempt are ignored.
 */
public final class UpstreamRequest {
  static final String UPSTREAM_CONNECT_ERROR =
      "upstream connect error or disconnect/reset before headers. reset reason: ";

  /** An original destination (PassthroughCluster, ORIGINAL_DST clusters). */
  public record Passthrough(String host, int port) {}

  private final Vertx vertx;
  private final ProxyOptions opts;
  private final HttpStream s;
  private final HttpServerRequest req;
  private final UpstreamCluster cluster;
  private final RouteEntryAction.Forward forward;
  private final Passthrough passthrough;
  private final Buffer body;
  private final boolean streaming;
  private final RetryState retry;
  private final Set<Host> tried = new HashSet<>();
  private int attempts;

  /** The attempt whose outcome has been handled; its late callbacks are ignored. */
  private int settled;

  private boolean responseStarted;
  private long globalTimer = -1;
  private long perTryTimer = -1;
  private HttpClientRequest current;
  private RequestLease currentLease;

  /**
   * @param body the buffered request body, or null (none, or {@code streaming})
   * @param streaming the body is streamed as it arrives: no retries and no mirrors
   */
  public UpstreamRequest(
      Vertx vertx,
      ProxyOptions opts,
      HttpStream s,
      Passthrough passthrough,
      Buffer body,
      boolean streaming) {
    this.vertx = vertx;
    this.opts = opts;
    this.s = s;
    this.req = s.request();
    this.cluster = s.cluster();
    this.forward = s.route() == null ? null : s.route().forward();
    this.passthrough = passthrough;
    this.body = body;
    this.streaming = streaming;
    this.retry =
        forward == null || streaming ? null : RetryState.of(forward.retry(), cluster, vertx);
  }

  public int attempts() {
    return attempts;
  }

  public void start() {
    if (s.isDone()) {
      return;
    }
    long timeout = forward != null ? forward.timeoutMs() : 0;
    if (timeout > 0) {
      globalTimer = vertx.setTimer(timeout, t -> onGlobalTimeout());
    }
    if (forward != null && !forward.mirrors().isEmpty() && !streaming) {
      ShadowWriter.mirror(vertx, opts, s, forward, retry, upstreamPath(), body);
    }
    attempt();
  }

  /** The stream is over: stop timers, reset an attempt in flight. */
  public void cancel() {
    cancelTimers();
    if (current != null) {
      current.reset();
      current = null;
    }
  }

  private void attempt() {
    if (s.isDone()) {
      return;
    }
    attempts++;
    Host host;
    String dialIp;
    int dialPort;
    String originalDst = null;
    RequestLease lease;
    if (passthrough != null) {
      host = null;
      dialIp = passthrough.host();
      dialPort = offsetPort(opts, dialIp, passthrough.port());
      s.info().setUpstreamHost(dialIp + ":" + passthrough.port(), null);
      lease = cluster.acquirePassthrough();
    } else {
      boolean avoid = retry != null && retry.avoidPreviousHosts();
      host = cluster.choose(h -> avoid && tried.contains(h), hashKey());
      if (host == null) {
        s.info().setResponseFlag(ResponseFlags.UH);
        s.sendLocalReply(503, "no healthy upstream", "no_healthy_upstream");
        return;
      }
      lease = cluster.tryAcquire(host);
      if (lease == null) {
        overflow();
        return;
      }
      tried.add(host);
      s.info().setUpstreamHost(host.key(), host);
      dialIp = host.address;
      if (host.sidecar && opts.interceptionNone && s.direction() != Direction.INBOUND) {
        dialPort = opts.peerInboundPort;
        originalDst = host.key();
      } else {
        dialPort = offsetPort(opts, host.address, host.port);
      }
    }
    currentLease = lease;
    final int attemptNo = attempts;
    RequestOptions ro =
        new RequestOptions()
            .setServer(SocketAddress.inetSocketAddress(dialPort, dialIp))
            .setMethod(req.method())
            .setURI(upstreamPath())
            .setHost(serverName(host, dialIp))
            .setPort(dialPort)
            .setHeaders(UpstreamHeaders.request(s, forward, retry, body, attemptNo, originalDst));
    if (retry != null && retry.perTryTimeoutMs() > 0) {
      perTryTimer = vertx.setTimer(retry.perTryTimeoutMs(), t -> onPerTryTimeout(attemptNo));
    }
    long sentAt = System.nanoTime();
    cluster
        .client(vertx)
        .request(ro)
        .onComplete(
            ar -> {
              if (!live(attemptNo)) {
                if (ar.succeeded()) {
                  ar.result().exceptionHandler(x -> {});
                  ar.result().reset();
                }
                lease.release();
                return;
              }
              if (ar.failed()) {
                lease.release();
                settled = attemptNo;
                onAttemptFailure(lease, ar.cause(), true);
                return;
              }
              send(ar.result(), attemptNo, lease, sentAt);
            });
  }

  /**
   * The upstream request's authority: the chosen weighted cluster's host rewrite (applied after the
   * route's, as Envoy's weighted cluster entry does), else the route's, else the downstream's.
   */
  private String upstreamAuthority() {
    ClusterChoice choice = s.clusterChoice();
    if (choice != null && choice.hostRewrite() != null) {
      return choice.hostRewrite();
    }
    return forward != null && forward.hostRewrite() != null
        ? forward.hostRewrite()
        : s.target().authority();
  }

  /**
   * The name the connection is made for (the TLS SNI): the cluster's sni; with auto_sni the
   * upstream request's host without its port (Envoy's auto_sni); else the endpoint's hostname or
   * address.
   */
  private String serverName(Host host, String dialIp) {
    if (cluster.tls && cluster.sni != null) {
      return cluster.sni;
    }
    if (cluster.tls && cluster.tlsSettings.autoSni()) {
      String authority = upstreamAuthority();
      HostAndPort hp = HostAndPort.parseAuthority(authority, -1);
      String h = hp != null ? hp.host() : authority;
      if (h != null && !h.isEmpty()) {
        return h;
      }
    }
    return host != null && host.hostname != null ? host.hostname : dialIp;
  }

  private void send(HttpClientRequest creq, int attemptNo, RequestLease lease, long sentAt) {
    current = creq;
    String authority = upstreamAuthority();
    HostAndPort parsed = HostAndPort.parseAuthority(authority, -1);
    creq.authority(parsed != null ? parsed : HostAndPort.create(authority, -1));
    if (cluster.countOnConnection(creq.connection())) {
      creq.putHeader("connection", "close");
    }
    creq.exceptionHandler(
        t -> {
          if (live(attemptNo) && !responseStarted) {
            lease.release();
            settled = attemptNo;
            onAttemptFailure(lease, t, false);
          } else if (!responseStarted || s.isDone()) {
            lease.release();
          }
        });
    creq.response()
        .onComplete(
            rar -> {
              if (!live(attemptNo)) {
                if (rar.succeeded()) {
                  rar.result().exceptionHandler(x -> {});
                  rar.result().request().reset();
                }
                lease.release();
                return;
              }
              if (rar.failed()) {
                lease.release();
                settled = attemptNo;
                onAttemptFailure(lease, rar.cause(), false);
                return;
              }
              settled = attemptNo;
              onResponse(rar.result(), lease, sentAt);
            });
    sendBody(creq);
  }

  private boolean live(int attemptNo) {
    return !s.isDone() && attemptNo == attempts && settled != attemptNo;
  }

  private void sendBody(HttpClientRequest creq) {
    if (streaming) {
      String cl = req.headers().get(HttpHeaders.CONTENT_LENGTH);
      if (cl != null) {
        creq.putHeader(HttpHeaders.CONTENT_LENGTH, cl);
      } else {
        creq.setChunked(true);
      }
      req.handler(
          buf -> {
            s.info().addBytesReceived(buf.length());
            creq.write(buf);
            if (creq.writeQueueFull()) {
              req.pause();
              creq.drainHandler(v -> req.resume());
            }
          });
      req.endHandler(v -> creq.end());
      req.resume();
    } else if (body != null) {
      creq.end(body);
    } else {
      creq.end();
    }
  }

  static int offsetPort(ProxyOptions opts, String ip, int port) {
    if (opts.localPortOffset > 0 && port < 1024 && ip.startsWith("127.")) {
      return port + opts.localPortOffset;
    }
    return port;
  }

  /** hash_policy: the combined hash of the request's values, or null (no hashing). */
  private Long hashKey() {
    if (forward == null || forward.hashPolicies().isEmpty()) {
      return null;
    }
    Long h = null;
    for (HashPolicySpec p : forward.hashPolicies()) {
      String v = null;
      if (p.header != null) {
        v = req.headers().get(p.header);
      } else if (p.cookie != null) {
        var ck = req.getCookie(p.cookie);
        v = ck == null ? null : ck.getValue();
      } else if (p.queryParam != null) {
        v = req.getParam(p.queryParam);
      } else if (p.sourceIp) {
        v = req.remoteAddress() == null ? null : req.remoteAddress().host();
      }
      if (v != null) {
        long k = LoadBalancer.hash64(v);
        h = h == null ? k : (Long.rotateLeft(h, 1) ^ k);
        if (p.terminal) {
          break;
        }
      }
    }
    return h;
  }

  private String upstreamPath() {
    if (forward != null) {
      String r = forward.rewritePath(s.target().pathAndQuery());
      if (r != null) {
        return r;
      }
    }
    return s.target().pathAndQuery();
  }

  // ---- outcomes ----

  private void onPerTryTimeout(int attemptNo) {
    perTryTimer = -1;
    if (!live(attemptNo) || responseStarted) {
      return;
    }
    settled = attemptNo;
    if (current != null) {
      current.reset();
      current = null;
    }
    currentLease.onTimeout();
    if (retry != null && retry.retriableTimeout() && retry.tryRetry(this::attempt)) {
      return;
    }
    s.info().setResponseFlag(ResponseFlags.UT);
    s.sendLocalReply(504, "upstream request timeout", "upstream_per_try_timeout");
  }

  private void onGlobalTimeout() {
    globalTimer = -1;
    if (s.isDone()) {
      return;
    }
    s.info().setResponseFlag(ResponseFlags.UT);
    if (responseStarted) {
      cancel();
      s.resetDownstream();
      return;
    }
    settled = attempts;
    cancel();
    s.sendLocalReply(504, "upstream request timeout", "response_timeout");
  }

  private void overflow() {
    s.info().setResponseFlag(ResponseFlags.UO);
    s.sendLocalReply(
        503,
        UPSTREAM_CONNECT_ERROR + "overflow",
        "upstream_reset_before_response_started{overflow}");
  }

  private void onAttemptFailure(RequestLease lease, Throwable cause, boolean connect) {
    cancelPerTry();
    current = null;
    boolean connectFailure =
        connect
            || cause instanceof ConnectException
            || String.valueOf(cause.getMessage()).contains("Connection refused");
    if (cause.getClass().getSimpleName().contains("TooBusy")) {
      // The connection pool's wait queue (max_pending_requests) is full.
      cluster.recordOverflow();
      overflow();
      return;
    }
    lease.onFailure(connectFailure);
    boolean refused = cause instanceof StreamResetException sre && sre.getCode() == 7;
    boolean retriable = retry != null && retry.retriableFailure(connectFailure, refused);
    if (retriable && retry.tryRetry(this::attempt)) {
      return;
    }
    if (retriable) {
      s.info().setResponseFlag(ResponseFlags.URX);
    }
    if (connectFailure) {
      s.info().setResponseFlag(ResponseFlags.UF);
      s.sendLocalReply(
          503,
          UPSTREAM_CONNECT_ERROR + "connection failure",
          "upstream_reset_before_response_started{connection_failure}");
    } else {
      s.info().setResponseFlag(ResponseFlags.UC);
      s.sendLocalReply(
          503,
          UPSTREAM_CONNECT_ERROR + "connection termination",
          "upstream_reset_before_response_started{connection_termination}");
    }
  }

  private void onResponse(HttpClientResponse ur, RequestLease lease, long sentAt) {
    cancelPerTry();
    int status = ur.statusCode();
    lease.onResponse(status);
    if (retry != null && retry.retriableStatus(status) && retry.tryRetry(this::attempt)) {
      ur.exceptionHandler(x -> {});
      ur.request().reset();
      lease.release();
      current = null;
      return;
    }
    if (retry != null && retry.retriableStatus(status)) {
      s.info().setResponseFlag(ResponseFlags.URX);
    }
    responseStarted = true;
    s.info().setDetails("via_upstream");
    s.info().setUpstreamServiceTime(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sentAt));
    HttpServerResponse resp = s.response();
    MultiMap out = resp.headers();
    UpstreamHeaders.response(ur.headers(), out, s.direction() != Direction.INBOUND);
    s.info().setResponseHeaderBytes(headerBytes(ur.headers()));
    out.set("x-envoy-upstream-service-time", Long.toString(s.info().upstreamServiceTime()));
    s.encodeHeaders(out, ur.headers());
    resp.setStatusCode(status);
    boolean noBody =
        status == 204 || status == 304 || status < 200 || req.method() == HttpMethod.HEAD;
    if (ur.headers().get(HttpHeaders.CONTENT_LENGTH) == null
        && req.version() != HttpVersion.HTTP_2
        && !noBody) {
      resp.setChunked(true);
    }
    ur.handler(
        buf -> {
          s.info().addBytesSent(buf.length());
          resp.write(buf);
          if (resp.writeQueueFull()) {
            ur.pause();
            resp.drainHandler(v -> ur.resume());
          }
        });
    ur.exceptionHandler(
        t -> {
          lease.release();
          if (!s.isDone()) {
            s.info().setResponseFlag(ResponseFlags.UR);
            s.info().setDetails("upstream_reset_after_response_started{remote_reset}");
            s.resetDownstream();
          }
        });
    ur.endHandler(
        v -> {
          lease.release();
          current = null;
          s.complete(status);
        });
  }

  private static long headerBytes(MultiMap h) {
    long n = 0;
    for (var e : h) {
      n += e.getKey().length() + e.getValue().length();
    }
    return n;
  }

  private void cancelPerTry() {
    if (perTryTimer >= 0) {
      vertx.cancelTimer(perTryTimer);
      perTryTimer = -1;
    }
  }

  private void cancelTimers() {
    cancelPerTry();
    if (globalTimer >= 0) {
      vertx.cancelTimer(globalTimer);
      globalTimer = -1;
    }
  }
}
