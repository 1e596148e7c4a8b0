package io.shopmesh.mesh.proxy.listener;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.shopmesh.mesh.proxy.NodeInfo;
import io.shopmesh.mesh.proxy.ProxyOptions;
import io.shopmesh.mesh.proxy.router.Cors;
import io.shopmesh.mesh.proxy.router.RouteTable;
import io.shopmesh.mesh.proxy.router.RouteTable.ClusterChoice;
import io.shopmesh.mesh.proxy.router.RouteTable.CompiledRoute;
import io.shopmesh.mesh.proxy.router.RouteTable.HashPolicySpec;
import io.shopmesh.mesh.proxy.router.RouteTable.Mirror;
import io.shopmesh.mesh.proxy.router.RouteTable.RetrySpec;
import io.shopmesh.mesh.proxy.stats.AccessLog;
import io.shopmesh.mesh.proxy.stats.IstioMetrics;
import io.shopmesh.mesh.proxy.stats.PeerLabels;
import io.shopmesh.mesh.proxy.stats.ResponseFlags;
import io.shopmesh.mesh.proxy.upstream.Host;
import io.shopmesh.mesh.proxy.upstream.UpstreamCluster;
import io.shopmesh.mesh.proxy.xds.XdsState;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
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
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP connection manager and router filter of one listener: route lookup, faults, CORS,
 * retries and timeouts over upstream clusters, Envoy's headers, telemetry and the access log. All
 * work for one request runs on the event loop of its connection.
 */
public final class HttpProxy {
  public enum Direction {
    OUTBOUND,
    INBOUND,
    GATEWAY
  }

  static final String UPSTREAM_CONNECT_ERROR =
      "upstream connect error or disconnect/reset before headers. reset reason: ";
  static final int BUFFER_LIMIT = 64 * 1024;

  /** Prefix of a binding's route config name that refers to a listener's inline route config. */
  public static final String INLINE = "inline:";

  private static final Set<String> HOP_BY_HOP =
      Set.of(
          "connection",
          "keep-alive",
          "proxy-connection",
          "transfer-encoding",
          "upgrade",
          "te",
          "trailer",
          "proxy-authenticate",
          "http2-settings");

  private final Vertx vertx;
  private final XdsState xds;
  private final NodeInfo node;
  private final ProxyOptions opts;
  private final IstioMetrics metrics;
  private final AccessLog accessLog;
  private final PeerLabels self;
  // Sent on every outbound request: kept as Netty AsciiStrings, validated and encoded once (bulk
  // byte copies) rather than char by char on each request.
  private static final CharSequence PEER_METADATA =
      io.vertx.core.http.HttpHeaders.createOptimized("x-envoy-peer-metadata");
  private static final CharSequence PEER_METADATA_ID =
      io.vertx.core.http.HttpHeaders.createOptimized("x-envoy-peer-metadata-id");
  private final CharSequence peerMetadataValue;
  private final CharSequence peerIdValue;

  public HttpProxy(Vertx vertx, XdsState xds, NodeInfo node, IstioMetrics metrics, AccessLog log) {
    this.vertx = vertx;
    this.xds = xds;
    this.node = node;
    this.opts = node.options();
    this.metrics = metrics;
    this.accessLog = log;
    this.self = PeerLabels.fromStruct(node.metadata());
    this.peerMetadataValue = io.vertx.core.http.HttpHeaders.createOptimized(node.peerMetadata());
    this.peerIdValue = io.vertx.core.http.HttpHeaders.createOptimized(node.peerId());
  }

  /** Listener binding: direction, Envoy listener name, port, RDS name for gateways. */
  public record Binding(
      Direction direction,
      String listenerName,
      int port,
      String routeConfigName,
      List<SniRoute> sniRoutes) {
    public Binding(Direction direction, String listenerName, int port, String routeConfigName) {
      this(direction, listenerName, port, routeConfigName, List.of());
    }

    /** The route config of the filter chain whose server_names match the TLS SNI. */
    String routeConfigFor(String sni) {
      if (sni != null) {
        for (SniRoute r : sniRoutes) {
          for (String n : r.serverNames()) {
            if (n.equalsIgnoreCase(sni)
                || (n.startsWith("*.")
                    && sni.toLowerCase(Locale.ROOT)
                        .endsWith(n.substring(1).toLowerCase(Locale.ROOT)))) {
              return r.routeConfigName();
            }
          }
        }
      }
      return routeConfigName;
    }
  }

  /** A gateway filter chain: its SNI server names and its route config. */
  public record SniRoute(List<String> serverNames, String routeConfigName) {}

  public void handle(HttpServerRequest req, Binding b) {
    Exchange e = new Exchange(req, b);
    try {
      e.start();
    } catch (RuntimeException ex) {
      // A request we cannot make sense of (bad authority, bad URI): Envoy answers 400.
      e.flags |= ResponseFlags.DPE;
      e.localReply(400, "Bad Request", "invalid_request");
    }
  }

  /** Per-request state. */
  final class Exchange {
    final HttpServerRequest req;
    final HttpServerResponse resp;
    final Binding binding;
    final long startNanos = System.nanoTime();
    final Instant start = Instant.now();
    int flags;
    String details = "-";
    String authority;
    String pathAndQuery;
    String path;
    RouteTable.VHost vhost;
    RouteTable table;
    CompiledRoute route;
    ClusterChoice choice;
    UpstreamCluster cluster;
    Host lastHost;
    String upstreamHostLabel = "-";
    String passthroughHost;
    int passthroughPort;
    Buffer body;
    boolean streaming;
    long bytesReceived;
    long bytesSent;
    long upstreamServiceTime = -1;
    int attempts;

    /** The attempt whose outcome has been handled; its late callbacks are ignored. */
    int settled;

    int retriesUsed;
    boolean done;
    boolean responseStarted;
    long globalTimer = -1;
    long perTryTimer = -1;
    HttpClientRequest current;
    Host currentHost;
    final Set<Host> tried = new HashSet<>();
    PeerLabels peer = PeerLabels.UNKNOWN;
    boolean peerKnown;
    String requestId;
    String xff;
    Cors cors;
    String origin;
    long requestHeaderBytes;
    long responseHeaderBytes;
    boolean grpc;

    Exchange(HttpServerRequest req, Binding b) {
      this.req = req;
      this.resp = req.response();
      this.binding = b;
    }

    void start() {
      req.pause();
      MultiMap h = req.headers();
      // No smuggling: Envoy rejects Content-Length together with Transfer-Encoding.
      if (req.version() != HttpVersion.HTTP_2
          && h.contains(HttpHeaders.CONTENT_LENGTH)
          && h.contains(HttpHeaders.TRANSFER_ENCODING)) {
        flags |= ResponseFlags.DPE;
        localReply(400, "Bad Request", "http1.content_length_and_chunked_not_allowed");
        resp.putHeader("connection", "close");
        return;
      }
      requestHeaderBytes = headerBytes(h) + req.method().name().length() + req.uri().length();
      grpc = String.valueOf(h.get("content-type")).startsWith("application/grpc");
      resp.closeHandler(
          v -> {
            if (!done) {
              flags |= ResponseFlags.DC;
              abortUpstream();
              finish(resp.getStatusCode());
            }
          });
      parseTarget();
      requestId = h.get("x-request-id");
      if (requestId == null || requestId.isEmpty()) {
        requestId = newRequestId();
      }
      xff = h.get("x-forwarded-for");
      origin = h.get("origin");
      if (binding.direction == Direction.INBOUND) {
        PeerLabels p = PeerLabels.fromHeader(h.get("x-envoy-peer-metadata"));
        if (p != null) {
          peer = p;
          peerKnown = true;
        }
      }
      route();
    }

    private void parseTarget() {
      String uri = req.uri();
      String auth = null;
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
      authority = auth == null ? "" : auth;
      int q = pathAndQuery.indexOf('?');
      path = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
    }

    int authorityPort(int dflt) {
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

    String authorityHost() {
      int colon = authority.lastIndexOf(':');
      if (colon > 0 && authority.indexOf(']') < colon) {
        return authority.substring(0, colon);
      }
      return authority;
    }

    private void route() {
      if (req.method() == HttpMethod.CONNECT) {
        // Envoy's routes match CONNECT only with a connect_matcher, which Istio does not emit here.
        noRoute();
        return;
      }
      switch (binding.direction) {
        case OUTBOUND -> {
          int port = authorityPort(80);
          table = xds.routeTable(Integer.toString(port));
          if (table == null) {
            if (xds.clusterManager().get("PassthroughCluster") != null) {
              passthrough(authorityHost(), port);
              return;
            }
            noRoute();
            return;
          }
        }
        case INBOUND -> {
          int port = binding.port;
          String dst = req.headers().get("x-envoy-original-dst-host");
          if (dst != null && opts.interceptionNone) {
            int colon = dst.lastIndexOf(':');
            try {
              port = Integer.parseInt(dst.substring(colon + 1));
            } catch (RuntimeException e) {
              port = binding.port;
            }
          }
          table = xds.inboundRoute(port);
          if (table == null) {
            // No virtualInbound chain: hand straight to inbound|PORT||.
            UpstreamCluster c = xds.clusterManager().get("inbound|" + port + "||");
            if (c == null) {
              noRoute();
              return;
            }
            choice =
                new ClusterChoice(
                    c.name,
                    1,
                    io.shopmesh.mesh.proxy.router.HeaderOps.NONE,
                    io.shopmesh.mesh.proxy.router.HeaderOps.NONE);
            cluster = c;
            readBodyThenForward();
            return;
          }
        }
        case GATEWAY -> {
          String rc =
              req.isSSL()
                  ? binding.routeConfigFor(req.connection().indicatedServerName())
                  : binding.routeConfigName;
          table =
              rc != null && rc.startsWith(INLINE)
                  ? xds.inlineRouteTable(rc.substring(INLINE.length()))
                  : xds.routeTable(rc);
          if (table == null) {
            noRoute();
            return;
          }
        }
      }
      vhost = table.virtualHost(authority);
      if (vhost == null) {
        noRoute();
        return;
      }
      route = vhost.match(new RequestViewImpl());
      if (route == null) {
        noRoute();
        return;
      }
      if (route.kind == RouteTable.Kind.ROUTE) {
        // Envoy picks the weighted cluster when the route matches; telemetry of local replies
        // (faults, CORS) then still names the destination service.
        choice = route.pickCluster();
        cluster = xds.clusterManager().get(choice.cluster());
      }
      cors = route.cors != null ? route.cors : vhost.cors;
      if (cors != null
          && Cors.isPreflight(req.method().name(), req.headers())
          && cors.originAllowed(origin)) {
        cors.preflightHeaders(origin, resp.headers());
        details = "cors_response";
        localReply(200, null, null);
        return;
      }
      applyFault();
    }

    private void applyFault() {
      HTTPFault f = route.fault;
      if (f != null
          && f.hasDelay()
          && f.getDelay().hasFixedDelay()
          && RouteTable.sample(f.getDelay().getPercentage())) {
        flags |= ResponseFlags.DI;
        long ms = RouteTable.millis(f.getDelay().getFixedDelay());
        vertx.setTimer(
            Math.max(1, ms),
            t -> {
              if (!done) {
                afterDelay();
              }
            });
        return;
      }
      afterDelay();
    }

    private void afterDelay() {
      HTTPFault f = route.fault;
      if (f != null && f.hasAbort() && RouteTable.sample(f.getAbort().getPercentage())) {
        int status = f.getAbort().getHttpStatus();
        if (status > 0) {
          flags |= ResponseFlags.FI;
          localReply(status, "fault filter abort", "fault_filter_abort");
          return;
        }
      }
      switch (route.kind) {
        case DIRECT_RESPONSE -> {
          details = "direct_response";
          localReply(route.directStatus, route.directBody, null);
        }
        case REDIRECT -> redirect();
        case NON_FORWARDING -> localReply(200, null, null);
        case ROUTE -> {
          if ("PassthroughCluster".equals(choice.cluster())) {
            passthrough(authorityHost(), authorityPort(80));
            return;
          }
          if (cluster == null) {
            flags |= ResponseFlags.NC;
            details = "cluster_not_found";
            localReply(503, null, null);
            return;
          }
          if (cluster.type == Cluster.DiscoveryType.ORIGINAL_DST) {
            passthrough(authorityHost(), authorityPort(80));
            return;
          }
          readBodyThenForward();
        }
      }
    }

    private void passthrough(String host, int port) {
      String ip = xds.clusterManager().resolver().fromHostsFile(host);
      passthroughHost = ip != null ? ip : host;
      passthroughPort = port;
      cluster = xds.clusterManager().get("PassthroughCluster");
      if (choice == null) {
        choice =
            new ClusterChoice(
                "PassthroughCluster",
                1,
                io.shopmesh.mesh.proxy.router.HeaderOps.NONE,
                io.shopmesh.mesh.proxy.router.HeaderOps.NONE);
      }
      if (cluster == null) {
        flags |= ResponseFlags.NC;
        localReply(503, null, "cluster_not_found");
        return;
      }
      readBodyThenForward();
    }

    private void redirect() {
      var r = route.redirect;
      String scheme =
          r.getHttpsRedirect()
              ? "https"
              : (!r.getSchemeRedirect().isEmpty()
                  ? r.getSchemeRedirect()
                  : (req.isSSL() ? "https" : "http"));
      String host = !r.getHostRedirect().isEmpty() ? r.getHostRedirect() : authorityHost();
      int port = r.getPortRedirect() > 0 ? r.getPortRedirect() : authorityPort(-1);
      if (r.getHttpsRedirect() && r.getPortRedirect() == 0) {
        port = -1;
      }
      String p = pathAndQuery;
      if (!r.getPathRedirect().isEmpty()) {
        p = r.getPathRedirect();
      } else if (!r.getPrefixRewrite().isEmpty() && route.matchedPrefix() != null) {
        p =
            r.getPrefixRewrite()
                + pathAndQuery.substring(
                    Math.min(pathAndQuery.length(), route.matchedPrefix().length()));
      }
      if (r.getStripQuery()) {
        int q = p.indexOf('?');
        if (q >= 0) {
          p = p.substring(0, q);
        }
      }
      int code =
          switch (r.getResponseCode()) {
            case FOUND -> 302;
            case SEE_OTHER -> 303;
            case TEMPORARY_REDIRECT -> 307;
            case PERMANENT_REDIRECT -> 308;
            default -> 301;
          };
      resp.putHeader("location", scheme + "://" + host + (port > 0 ? ":" + port : "") + p);
      details = "via_route";
      localReply(code, null, null);
    }

    private void noRoute() {
      flags |= ResponseFlags.NR;
      localReply(404, null, "route_not_found");
    }

    // ---- body ----

    private void readBodyThenForward() {
      MultiMap h = req.headers();
      String cl = h.get(HttpHeaders.CONTENT_LENGTH);
      boolean chunked =
          h.contains(HttpHeaders.TRANSFER_ENCODING)
              || (req.version() == HttpVersion.HTTP_2
                  && cl == null
                  && !req.isEnded()
                  && req.method() != HttpMethod.GET
                  && req.method() != HttpMethod.HEAD);
      long len = -1;
      if (cl != null) {
        try {
          len = Long.parseLong(cl.trim());
        } catch (NumberFormatException e) {
          localReply(400, "Bad Request", "http1.invalid_content_length");
          return;
        }
      }
      if (!chunked && (len <= 0)) {
        body = null;
        if (req.isEnded()) {
          startForwarding();
        } else {
          req.endHandler(v -> startForwarding());
          req.handler(b -> {});
          req.resume();
        }
        return;
      }
      if (!chunked && len <= BUFFER_LIMIT) {
        req.body()
            .onSuccess(
                b -> {
                  body = b;
                  bytesReceived = b.length();
                  startForwarding();
                })
            .onFailure(
                t -> {
                  flags |= ResponseFlags.DC;
                  finish(0);
                });
        req.resume();
        return;
      }
      // Too large to buffer: stream it with back-pressure; no retries (as Envoy past its buffer).
      streaming = true;
      startForwarding();
    }

    private void startForwarding() {
      if (done) {
        return;
      }
      long timeout = route != null ? route.timeoutMs : 0;
      if (timeout > 0) {
        globalTimer = vertx.setTimer(timeout, t -> onGlobalTimeout());
      }
      if (route != null && !route.mirrors.isEmpty() && !streaming) {
        for (Mirror m : route.mirrors) {
          if (RouteTable.sample(m.fraction())) {
            mirror(m);
          }
        }
      }
      attempt();
    }

    // ---- attempts ----

    private RetrySpec retry() {
      return route == null || streaming ? null : route.retry;
    }

    private void attempt() {
      if (done) {
        return;
      }
      attempts++;
      Host host;
      String dialIp;
      int dialPort;
      String originalDst = null;
      if (passthroughHost != null) {
        host = null;
        dialIp = passthroughHost;
        dialPort = offsetPort(passthroughHost, passthroughPort);
        upstreamHostLabel = passthroughHost + ":" + passthroughPort;
      } else {
        RetrySpec rs = retry();
        boolean avoid = rs != null && rs.previousHosts;
        host = cluster.choose(h -> avoid && tried.contains(h), hashKey());
        if (host == null) {
          flags |= ResponseFlags.UH;
          localReply(503, "no healthy upstream", "no_healthy_upstream");
          return;
        }
        if (cluster.activeRequests.get() >= cluster.maxRequests) {
          cluster.overflow.incrementAndGet();
          flags |= ResponseFlags.UO;
          localReply(
              503,
              UPSTREAM_CONNECT_ERROR + "overflow",
              "upstream_reset_before_response_started{overflow}");
          return;
        }
        tried.add(host);
        upstreamHostLabel = host.key();
        if (host.sidecar && opts.interceptionNone && binding.direction != Direction.INBOUND) {
          dialIp = host.address;
          dialPort = opts.peerInboundPort;
          originalDst = host.key();
        } else {
          dialIp = host.address;
          dialPort = offsetPort(host.address, host.port);
        }
      }
      currentHost = host;
      lastHost = host;
      UpstreamCluster c = cluster;
      c.activeRequests.incrementAndGet();
      c.rqTotal.incrementAndGet();
      if (host != null) {
        host.active.incrementAndGet();
        host.rqTotal.incrementAndGet();
      }
      final int attemptNo = attempts;
      final Host h = host;
      boolean[] released = {false};
      Runnable release =
          () -> {
            if (!released[0]) {
              released[0] = true;
              c.activeRequests.decrementAndGet();
              if (h != null) {
                h.active.decrementAndGet();
              }
            }
          };
      RequestOptions ro =
          new RequestOptions()
              .setServer(SocketAddress.inetSocketAddress(dialPort, dialIp))
              .setMethod(req.method())
              .setURI(upstreamPath())
              .setHost(
                  c.tls && c.sni != null
                      ? c.sni
                      : (h != null && h.hostname != null ? h.hostname : dialIp))
              .setPort(dialPort)
              .setHeaders(upstreamHeaders(attemptNo, originalDst));
      RetrySpec rs = retry();
      if (rs != null && rs.perTryTimeoutMs > 0) {
        perTryTimer = vertx.setTimer(rs.perTryTimeoutMs, t -> onPerTryTimeout(attemptNo));
      }
      long sentAt = System.nanoTime();
      HttpClient client = c.client(vertx);
      client
          .request(ro)
          .onComplete(
              ar -> {
                if (!live(attemptNo)) {
                  if (ar.succeeded()) {
                    ar.result().exceptionHandler(x -> {});
                    ar.result().reset();
                  }
                  release.run();
                  return;
                }
                if (ar.failed()) {
                  release.run();
                  settled = attemptNo;
                  onAttemptFailure(h, ar.cause(), true);
                  return;
                }
                HttpClientRequest creq = ar.result();
                current = creq;
                String hostHeader = upstreamAuthority();
                creq.authority(
                    HostAndPort.parseAuthority(hostHeader, -1) != null
                        ? HostAndPort.parseAuthority(hostHeader, -1)
                        : HostAndPort.create(hostHeader, -1));
                if (c.countOnConnection(creq.connection())) {
                  creq.putHeader("connection", "close");
                }
                creq.exceptionHandler(
                    t -> {
                      if (live(attemptNo) && !responseStarted) {
                        release.run();
                        settled = attemptNo;
                        onAttemptFailure(h, t, false);
                      } else if (!responseStarted || done) {
                        release.run();
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
                            release.run();
                            return;
                          }
                          if (rar.failed()) {
                            release.run();
                            settled = attemptNo;
                            onAttemptFailure(h, rar.cause(), false);
                            return;
                          }
                          settled = attemptNo;
                          onResponse(rar.result(), h, sentAt, release);
                        });
                sendBody(creq);
              });
    }

    private boolean live(int attemptNo) {
      return !done && attemptNo == attempts && settled != attemptNo;
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
              bytesReceived += buf.length();
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

    private int offsetPort(String ip, int port) {
      if (opts.localPortOffset > 0 && port < 1024 && ip.startsWith("127.")) {
        return port + opts.localPortOffset;
      }
      return port;
    }

    private Long hashKey() {
      if (route == null || route.hashPolicies.isEmpty()) {
        return null;
      }
      Long h = null;
      for (HashPolicySpec p : route.hashPolicies) {
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
          long k = io.shopmesh.mesh.proxy.upstream.LoadBalancer.hash64(v);
          h = h == null ? k : (Long.rotateLeft(h, 1) ^ k);
          if (p.terminal) {
            break;
          }
        }
      }
      return h;
    }

    private String upstreamAuthority() {
      if (route != null && route.hostRewrite != null) {
        return route.hostRewrite;
      }
      return authority;
    }

    private String upstreamPath() {
      if (route != null) {
        String r = route.rewritePath(pathAndQuery);
        if (r != null) {
          return r;
        }
      }
      return pathAndQuery;
    }

    private MultiMap upstreamHeaders(int attemptNo, String originalDst) {
      MultiMap out = MultiMap.caseInsensitiveMultiMap();
      for (Map.Entry<String, String> e : req.headers()) {
        String k = e.getKey().toLowerCase(Locale.ROOT);
        if (HOP_BY_HOP.contains(k)
            || k.equals("host")
            || k.equals("content-length")
            || k.equals("expect")
            || k.startsWith(":")) {
          continue;
        }
        if (k.equals("x-envoy-peer-metadata") || k.equals("x-envoy-peer-metadata-id")) {
          continue; // removed (inbound) or replaced by this proxy's own (outbound) below
        }
        out.add(k, e.getValue());
      }
      if (body != null) {
        out.set("content-length", Integer.toString(body.length()));
      }
      out.set("x-request-id", requestId);
      if (!out.contains("x-forwarded-proto")) {
        out.set("x-forwarded-proto", req.isSSL() ? "https" : "http");
      }
      if (binding.direction == Direction.GATEWAY && req.remoteAddress() != null) {
        // use_remote_address: the gateway appends the peer it saw.
        String remote = req.remoteAddress().host();
        out.set("x-forwarded-for", xff == null || xff.isEmpty() ? remote : xff + "," + remote);
        out.set("x-envoy-external-address", remote);
      }
      out.set("x-envoy-attempt-count", Integer.toString(attemptNo));
      if (route != null && route.timeoutMs > 0) {
        RetrySpec rs = retry();
        long t =
            rs != null && rs.perTryTimeoutMs > 0
                ? Math.min(rs.perTryTimeoutMs, route.timeoutMs)
                : route.timeoutMs;
        out.set("x-envoy-expected-rq-timeout-ms", Long.toString(t));
      }
      if (route != null) {
        String rewritten = route.rewritePath(pathAndQuery);
        if (rewritten != null && !out.contains("x-envoy-original-path")) {
          out.set("x-envoy-original-path", path);
        }
      }
      if (binding.direction == Direction.INBOUND) {
        out.remove("x-envoy-peer-metadata");
        out.remove("x-envoy-peer-metadata-id");
        out.remove("x-envoy-original-dst-host");
      } else {
        out.set(PEER_METADATA_ID, peerIdValue);
        out.set(PEER_METADATA, peerMetadataValue);
      }
      if (originalDst != null) {
        out.set("x-envoy-original-dst-host", originalDst);
      }
      // Most specific first; the route configuration's own list is applied last.
      if (choice != null) {
        choice.requestOps().apply(out);
      }
      if (route != null) {
        route.requestOps.apply(out);
      }
      if (vhost != null) {
        vhost.requestOps.apply(out);
      }
      if (table != null) {
        table.requestOps.apply(out);
      }
      return out;
    }

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
      if (currentHost != null) {
        currentHost.rqTimeout.incrementAndGet();
        cluster.recordResult(currentHost, 504, false);
      }
      RetrySpec rs = retry();
      if (rs != null && rs.retriableTimeout() && canRetry()) {
        scheduleRetry();
        return;
      }
      flags |= ResponseFlags.UT;
      localReply(504, "upstream request timeout", "upstream_per_try_timeout");
    }

    private void onGlobalTimeout() {
      globalTimer = -1;
      if (done) {
        return;
      }
      flags |= ResponseFlags.UT;
      if (responseStarted) {
        abortUpstream();
        resetDownstream();
        return;
      }
      settled = attempts;
      abortUpstream();
      localReply(504, "upstream request timeout", "response_timeout");
    }

    private void onAttemptFailure(Host h, Throwable cause, boolean connect) {
      cancelPerTry();
      current = null;
      boolean connectFailure =
          connect
              || cause instanceof ConnectException
              || String.valueOf(cause.getMessage()).contains("Connection refused");
      boolean overflow = cause.getClass().getSimpleName().contains("TooBusy");
      if (overflow) {
        cluster.overflow.incrementAndGet();
        flags |= ResponseFlags.UO;
        localReply(
            503,
            UPSTREAM_CONNECT_ERROR + "overflow",
            "upstream_reset_before_response_started{overflow}");
        return;
      }
      if (h != null) {
        if (connectFailure) {
          h.cxConnectFail.incrementAndGet();
        }
        h.rqError.incrementAndGet();
        cluster.recordResult(h, 0, true);
      }
      RetrySpec rs = retry();
      boolean refused = cause instanceof StreamResetException sre && sre.getCode() == 7;
      boolean retriable =
          rs != null
              && (connectFailure
                  ? rs.retriableConnectFailure()
                  : (refused ? (rs.onRefusedStream || rs.retriableReset()) : rs.retriableReset()));
      if (retriable && canRetry()) {
        scheduleRetry();
        return;
      }
      if (rs != null && retriable) {
        flags |= ResponseFlags.URX;
      }
      if (connectFailure) {
        flags |= ResponseFlags.UF;
        localReply(
            503,
            UPSTREAM_CONNECT_ERROR + "connection failure",
            "upstream_reset_before_response_started{connection_failure}");
      } else {
        flags |= ResponseFlags.UC;
        localReply(
            503,
            UPSTREAM_CONNECT_ERROR + "connection termination",
            "upstream_reset_before_response_started{connection_termination}");
      }
    }

    private boolean canRetry() {
      RetrySpec rs = retry();
      if (rs == null || retriesUsed >= rs.numRetries) {
        return false;
      }
      if (cluster.activeRetries.get() >= cluster.maxRetries) {
        return false;
      }
      return true;
    }

    private void scheduleRetry() {
      RetrySpec rs = retry();
      retriesUsed++;
      cluster.retries.incrementAndGet();
      cluster.activeRetries.incrementAndGet();
      long delay = rs.backoffMs(retriesUsed);
      vertx.setTimer(
          Math.max(1, delay),
          t -> {
            cluster.activeRetries.decrementAndGet();
            attempt();
          });
    }

    private void cancelPerTry() {
      if (perTryTimer >= 0) {
        vertx.cancelTimer(perTryTimer);
        perTryTimer = -1;
      }
    }

    private void onResponse(HttpClientResponse ur, Host h, long sentAt, Runnable release) {
      cancelPerTry();
      int status = ur.statusCode();
      if (h != null) {
        cluster.recordResult(h, status, false);
        if (status >= 500) {
          h.rqError.incrementAndGet();
        } else {
          h.rqSuccess.incrementAndGet();
        }
      }
      RetrySpec rs = retry();
      if (rs != null && rs.retriableStatus(status) && canRetry()) {
        ur.exceptionHandler(x -> {});
        ur.request().reset();
        release.run();
        current = null;
        scheduleRetry();
        return;
      }
      if (rs != null && rs.retriableStatus(status)) {
        flags |= ResponseFlags.URX;
      }
      responseStarted = true;
      details = "via_upstream";
      upstreamServiceTime = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sentAt);
      MultiMap out = resp.headers();
      boolean fromPeer = binding.direction != Direction.INBOUND;
      for (Map.Entry<String, String> e : ur.headers()) {
        String k = e.getKey().toLowerCase(Locale.ROOT);
        if (HOP_BY_HOP.contains(k)) {
          continue;
        }
        if (fromPeer
            && (k.equals("x-envoy-peer-metadata") || k.equals("x-envoy-peer-metadata-id"))) {
          continue; // read below, never passed on: not worth copying (and validating) ~400 chars
        }
        out.add(k, e.getValue());
      }
      responseHeaderBytes = headerBytes(ur.headers());
      if (fromPeer) {
        PeerLabels ps = PeerLabels.fromHeader(ur.headers().get("x-envoy-peer-metadata"));
        if (ps != null) {
          peer = ps;
          peerKnown = true;
        }
        out.remove("x-envoy-peer-metadata");
        out.remove("x-envoy-peer-metadata-id");
      } else if (req.headers().contains("x-envoy-peer-metadata-id")) {
        out.set(PEER_METADATA_ID, peerIdValue);
        out.set(PEER_METADATA, peerMetadataValue);
      }
      out.set("x-envoy-upstream-service-time", Long.toString(upstreamServiceTime));
      decorateResponse(out, true);
      resp.setStatusCode(status);
      String cl = ur.headers().get(HttpHeaders.CONTENT_LENGTH);
      boolean noBody =
          status == 204 || status == 304 || status < 200 || req.method() == HttpMethod.HEAD;
      if (cl == null && req.version() != HttpVersion.HTTP_2 && !noBody) {
        resp.setChunked(true);
      }
      ur.handler(
          buf -> {
            bytesSent += buf.length();
            resp.write(buf);
            if (resp.writeQueueFull()) {
              ur.pause();
              resp.drainHandler(v -> ur.resume());
            }
          });
      ur.exceptionHandler(
          t -> {
            release.run();
            if (!done) {
              flags |= ResponseFlags.UR;
              details = "upstream_reset_after_response_started{remote_reset}";
              resetDownstream();
            }
          });
      ur.endHandler(
          v -> {
            release.run();
            if (!done) {
              done = true;
              cancelTimers();
              finish(status);
              resp.end();
            }
          });
    }

    private void decorateResponse(MultiMap out, boolean proxied) {
      if (choice != null) {
        choice.responseOps().apply(out);
      }
      if (route != null) {
        route.responseOps.apply(out);
      }
      if (vhost != null) {
        vhost.responseOps.apply(out);
      }
      if (table != null) {
        table.responseOps.apply(out);
      }
      if (cors != null && origin != null && cors.originAllowed(origin)) {
        cors.simpleHeaders(origin, out);
      }
      // server_name istio-envoy: overwritten at the gateway and inbound, passed through outbound.
      if (binding.direction != Direction.OUTBOUND || !proxied || !out.contains("server")) {
        out.set("server", "istio-envoy");
      }
      if (!out.contains("date")) {
        out.set(
            "date",
            java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME.format(
                java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC)));
      }
    }

    private void resetDownstream() {
      done = true;
      cancelTimers();
      finish(resp.getStatusCode());
      resp.reset();
      req.connection().close();
    }

    private void abortUpstream() {
      cancelPerTry();
      if (current != null) {
        current.reset();
        current = null;
      }
    }

    private void cancelTimers() {
      cancelPerTry();
      if (globalTimer >= 0) {
        vertx.cancelTimer(globalTimer);
        globalTimer = -1;
      }
    }

    /** Envoy's local reply: text/plain body, the status, and the flags already set. */
    void localReply(int status, String bodyText, String det) {
      if (done) {
        return;
      }
      done = true;
      cancelTimers();
      if (current != null) {
        current.reset();
        current = null;
      }
      if (det != null) {
        details = det;
      }
      if (resp.headWritten() || resp.ended() || resp.closed()) {
        finish(status);
        return;
      }
      decorateResponse(resp.headers(), false);
      resp.setStatusCode(status);
      if (!req.isEnded() && req.version() != HttpVersion.HTTP_2) {
        // The body was not read: do not keep the connection for another request.
        resp.putHeader("connection", "close");
      }
      // Record before writing, so whoever sees the reply also sees its telemetry.
      if (bodyText != null && !bodyText.isEmpty()) {
        resp.putHeader("content-type", "text/plain");
        Buffer b = Buffer.buffer(bodyText);
        bytesSent = b.length();
        resp.putHeader("content-length", Integer.toString(b.length()));
        finish(status);
        resp.end(b);
      } else {
        resp.putHeader("content-length", "0");
        finish(status);
        resp.end();
      }
    }

    private boolean finished;

    void finish(int status) {
      if (finished) {
        return;
      }
      finished = true;
      done = true;
      cancelTimers();
      long durationMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
      record(status, durationMs);
      if (!accessLog.enabled()) {
        return;
      }
      AccessLog.Entry e = new AccessLog.Entry();
      e.start = start;
      e.method = req.method().name();
      String orig = req.headers().get("x-envoy-original-path");
      e.path = orig != null ? orig : pathAndQuery;
      e.protocol =
          req.version() == HttpVersion.HTTP_2
              ? "HTTP/2"
              : (req.version() == HttpVersion.HTTP_1_0 ? "HTTP/1.0" : "HTTP/1.1");
      e.status = status;
      e.flags = flags;
      e.details = details;
      e.bytesReceived = bytesReceived;
      e.bytesSent = bytesSent;
      e.durationMs = durationMs;
      e.upstreamServiceTime = upstreamServiceTime >= 0 ? Long.toString(upstreamServiceTime) : "-";
      e.xff = orDash(xff);
      e.userAgent = orDash(req.headers().get("user-agent"));
      e.requestId = orDash(requestId);
      e.authority = orDash(authority);
      e.upstreamHost = attempts > 0 ? upstreamHostLabel : "-";
      e.upstreamCluster = choice != null ? choice.cluster() : "-";
      e.downstreamLocal = req.localAddress() == null ? "-" : req.localAddress().toString();
      e.downstreamRemote = req.remoteAddress() == null ? "-" : req.remoteAddress().toString();
      e.routeName = route != null && !route.name.isEmpty() ? route.name : "-";
      accessLog.log(e);
    }

    private void record(int status, long durationMs) {
      Map<String, String> l = new LinkedHashMap<>();
      boolean source = binding.direction != Direction.INBOUND;
      PeerLabels src = source ? self : peer;
      PeerLabels dst = source ? destinationPeer() : self;
      l.put("response_code", Integer.toString(status));
      l.put("reporter", source ? "source" : "destination");
      l.put("source_workload", src.workload());
      l.put("source_workload_namespace", src.namespace());
      l.put("source_principal", "unknown");
      l.put("source_app", src.app());
      l.put("source_version", src.version());
      l.put("source_cluster", src.cluster());
      l.put("destination_workload", dst.workload());
      l.put("destination_workload_namespace", dst.namespace());
      l.put("destination_principal", "unknown");
      l.put("destination_app", dst.app());
      l.put("destination_version", dst.version());
      String svcHost =
          cluster != null && cluster.serviceHost != null ? cluster.serviceHost : authorityHost();
      String svcName =
          cluster != null && cluster.serviceName != null ? cluster.serviceName : svcHost;
      String svcNs =
          cluster != null && cluster.serviceNamespace != null
              ? cluster.serviceNamespace
              : (source ? "unknown" : self.namespace());
      if (svcHost == null || svcHost.isEmpty()) {
        svcHost = "unknown";
        svcName = "unknown";
      }
      l.put("destination_service", svcHost);
      l.put("destination_service_name", svcName);
      l.put("destination_service_namespace", svcNs);
      l.put("destination_cluster", dst.cluster());
      l.put("request_protocol", grpc ? "grpc" : "http");
      l.put("response_flags", ResponseFlags.toString(flags));
      l.put("grpc_response_status", "");
      l.put("connection_security_policy", source ? "unknown" : "none");
      l.put("source_canonical_service", src.canonicalService());
      l.put("destination_canonical_service", dst.canonicalService());
      l.put("source_canonical_revision", src.canonicalRevision());
      l.put("destination_canonical_revision", dst.canonicalRevision());
      metrics.record(
          l, durationMs, requestHeaderBytes + bytesReceived, responseHeaderBytes + bytesSent);
    }

    private PeerLabels destinationPeer() {
      if (peerKnown) {
        return peer;
      }
      if (lastHost != null && !lastHost.workloadMeta.isEmpty()) {
        return PeerLabels.fromWorkloadMeta(lastHost.workloadMeta);
      }
      return PeerLabels.UNKNOWN;
    }

    private void mirror(Mirror m) {
      UpstreamCluster mc = xds.clusterManager().get(m.cluster());
      if (mc == null) {
        return;
      }
      Host h = mc.choose(x -> false, null);
      if (h == null) {
        return;
      }
      String host =
          authorityHost() + "-shadow" + (authorityPort(-1) > 0 ? ":" + authorityPort(-1) : "");
      boolean viaSidecar = h.sidecar && opts.interceptionNone;
      MultiMap headers = upstreamHeaders(1, viaSidecar ? h.key() : null);
      RequestOptions ro =
          new RequestOptions()
              .setServer(
                  SocketAddress.inetSocketAddress(
                      viaSidecar ? opts.peerInboundPort : offsetPort(h.address, h.port), h.address))
              .setMethod(req.method())
              .setURI(upstreamPath())
              .setHost(h.address)
              .setHeaders(headers)
              .setTimeout(route.timeoutMs > 0 ? route.timeoutMs : 30_000);
      Buffer b = body;
      mc.client(vertx)
          .request(ro)
          .onSuccess(
              cr -> {
                cr.authority(
                    HostAndPort.create(
                        host.contains(":") ? host.substring(0, host.lastIndexOf(':')) : host,
                        authorityPort(-1)));
                cr.response()
                    .onSuccess(
                        r -> r.handler(x -> {}).exceptionHandler(x -> {}).endHandler(x -> {}));
                cr.exceptionHandler(x -> {});
                if (b != null) {
                  cr.end(b);
                } else {
                  cr.end();
                }
              });
    }

    /** Route matching's view of the request. */
    final class RequestViewImpl implements RouteTable.RequestView {
      private Map<String, List<String>> query;

      @Override
      public String path() {
        return path;
      }

      @Override
      public Map<String, List<String>> queryParams() {
        if (query == null) {
          query = new LinkedHashMap<>();
          int q = pathAndQuery.indexOf('?');
          if (q >= 0) {
            for (String kv : pathAndQuery.substring(q + 1).split("&")) {
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
            return pathAndQuery;
          case ":authority":
          case "host":
            return authority;
          case ":scheme":
            return req.isSSL() ? "https" : "http";
          default:
            List<String> all = req.headers().getAll(name);
            return all.isEmpty() ? null : String.join(",", all);
        }
      }
    }
  }

  private static String decode(String s) {
    try {
      return java.net.URLDecoder.decode(s, java.nio.charset.StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return s;
    }
  }

  private static String orDash(String s) {
    return s == null || s.isEmpty() ? "-" : s;
  }

  static long headerBytes(MultiMap h) {
    long n = 0;
    for (Map.Entry<String, String> e : h) {
      n += e.getKey().length() + e.getValue().length();
    }
    return n;
  }

  /**
   * A version 4 UUID for x-request-id, as Envoy generates one, from ThreadLocalRandom: not
   * UUID.randomUUID(), whose SecureRandom is shared by all event loops and costs a lock per
   * request.
   */
  static String newRequestId() {
    java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
    long msb = (r.nextLong() & ~0xF000L) | 0x4000L;
    long lsb = (r.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
    return new UUID(msb, lsb).toString();
  }
}
