package io.shopmesh.mesh.proxy.tcp;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.shopmesh.mesh.proxy.NodeInfo;
import io.shopmesh.mesh.proxy.ProxyOptions;
import io.shopmesh.mesh.proxy.http.Direction;
import io.shopmesh.mesh.proxy.stats.AccessLog;
import io.shopmesh.mesh.proxy.stats.IstioMetrics;
import io.shopmesh.mesh.proxy.stats.PeerLabels;
import io.shopmesh.mesh.proxy.stats.ResponseFlags;
import io.shopmesh.mesh.proxy.upstream.ClusterManager;
import io.shopmesh.mesh.proxy.upstream.Host;
import io.shopmesh.mesh.proxy.upstream.UpstreamCluster;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.TrustOptions;
import io.vertx.core.net.impl.ConnectionBase;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * Envoy's {@code envoy.filters.network.tcp_proxy}: the connection's cluster ({@code cluster}, or a
 * weighted pick of {@code weighted_clusters}), a host from the cluster's load balancer under its
 * {@code max_connections} circuit breaker, up to {@code max_connect_attempts} connects (Envoy's
 * default 1), then the bytes piped both ways with back-pressure and half-close (a FIN from one side
 * is passed on as a FIN to the other; the connection ends when both sides have finished or either
 * closes). {@code idle_timeout} (Envoy's default 1 h, 0 = none) closes both sides after that long
 * without a byte either way. An ORIGINAL_DST cluster ({@code PassthroughCluster}) dials the
 * connection's original destination; a cluster without hosts ({@code BlackHoleCluster}) closes it.
 * Each connection writes one access log line and Istio's TCP metrics.
 */
public final class TcpProxyFilter {
  /** Envoy's default tcp_proxy idle_timeout. */
  public static final long DEFAULT_IDLE_TIMEOUT_MS = 3_600_000;

  private final Vertx vertx;
  private final ClusterManager clusters;
  private final ProxyOptions opts;
  private final IstioMetrics metrics;
  private final AccessLog accessLog;
  private final PeerLabels self;
  private final Map<Long, NetClient> clients = new ConcurrentHashMap<>();

  /** A TLS-originating cluster's client, rebuilt when CDS replaces the cluster. */
  private record TlsClient(UpstreamCluster cluster, NetClient client) {}

  private final Map<String, TlsClient> tlsClients = new ConcurrentHashMap<>();

  public TcpProxyFilter(
      Vertx vertx,
      ClusterManager clusters,
      ProxyOptions opts,
      NodeInfo node,
      IstioMetrics metrics,
      AccessLog accessLog) {
    this.vertx = vertx;
    this.clusters = clusters;
    this.opts = opts;
    this.metrics = metrics;
    this.accessLog = accessLog;
    this.self = PeerLabels.fromStruct(node.metadata());
  }

  /**
   * What the listener knows of an accepted connection: the local and original destination ({@code
   * ip:port}), the peer, the SNI (or "") and the bytes the listener filters already read.
   */
  public record Downstream(
      NetSocket socket,
      Buffer initial,
      String localAddress,
      String originalDestination,
      String remoteAddress,
      String serverName,
      Direction direction) {}

  /** Proxies one downstream connection (paused, with its peeked bytes) per the filter's config. */
  public void handle(Downstream d, TcpProxy cfg) {
    new Session(d, cfg).start();
  }

  /** Picks {@code cluster} or one of {@code weighted_clusters} by weight. */
  static String pickCluster(TcpProxy cfg) {
    if (!cfg.hasWeightedClusters()) {
      return cfg.getCluster();
    }
    var wc = cfg.getWeightedClusters();
    long total = 0;
    for (var c : wc.getClustersList()) {
      total += c.getWeight();
    }
    if (total <= 0) {
      return wc.getClustersCount() == 0 ? cfg.getCluster() : wc.getClusters(0).getName();
    }
    long r = ThreadLocalRandom.current().nextLong(total);
    for (var c : wc.getClustersList()) {
      r -= c.getWeight();
      if (r < 0) {
        return c.getName();
      }
    }
    return wc.getClusters(wc.getClustersCount() - 1).getName();
  }

  /**
   * The client for a cluster: plain, or with the cluster's {@code UpstreamTlsContext} (TLS
   * origination: the CA and SANs verified as for HTTP, none without a CA).
   */
  private NetClient client(UpstreamCluster c) {
    if (!c.tls) {
      return client(c.connectTimeoutMs);
    }
    TlsClient t =
        tlsClients.compute(
            c.name,
            (k, old) -> {
              if (old != null && old.cluster() == c) {
                return old;
              }
              if (old != null) {
                old.client().close();
              }
              NetClientOptions o =
                  new NetClientOptions()
                      .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, c.connectTimeoutMs))
                      .setTcpNoDelay(true)
                      .setSsl(true)
                      .setHostnameVerificationAlgorithm("");
              if (c.tlsSettings.verify()) {
                o.setTrustOptions(TrustOptions.wrap(c.tlsSettings.trustManager()));
              } else {
                o.setTrustAll(true);
              }
              if (c.tlsSettings.keyManager() != null) {
                o.setKeyCertOptions(KeyCertOptions.wrap(c.tlsSettings.keyManager()));
              }
              return new TlsClient(c, vertx.createNetClient(o));
            });
    return t.client();
  }

  private NetClient client(long connectTimeoutMs) {
    return clients.computeIfAbsent(
        connectTimeoutMs,
        t ->
            vertx.createNetClient(
                new NetClientOptions()
                    .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, Math.max(1, t)))
                    .setTcpNoDelay(true)));
  }

  /** One proxied connection. */
  private final class Session {
    final Downstream d;
    final TcpProxy cfg;
    final long startNanos = System.nanoTime();
    final Instant start = Instant.now();
    final AtomicBoolean done = new AtomicBoolean();
    String clusterName = "-";
    UpstreamCluster cluster;
    boolean leased;
    Host host;
    String upstreamHost = "-";
    String upstreamLocal = "-";
    NetSocket up;
    int flags;
    long received;
    long sent;
    volatile long lastActivity = System.nanoTime();
    boolean downEof;
    boolean upEof;
    IstioMetrics.TcpSeries series;

    Session(Downstream d, TcpProxy cfg) {
      this.d = d;
      this.cfg = cfg;
    }

    void start() {
      clusterName = pickCluster(cfg);
      cluster = clusters.get(clusterName);
      d.socket().closeHandler(v -> finish());
      if (cluster == null) {
        flags |= ResponseFlags.NC;
        close();
        return;
      }
      if (!cluster.tryAcquireConnection()) {
        flags |= ResponseFlags.UO;
        close();
        return;
      }
      leased = true;
      int attempts =
          cfg.hasMaxConnectAttempts() ? Math.max(1, cfg.getMaxConnectAttempts().getValue()) : 1;
      connect(attempts, new HashSet<>());
    }

    void connect(int attemptsLeft, Set<Host> tried) {
      String ip;
      int port;
      if (cluster.type == Cluster.DiscoveryType.ORIGINAL_DST) {
        String od = d.originalDestination();
        if (od == null) {
          // no original destination to dial (a gateway's own port: dialling it would loop)
          flags |= ResponseFlags.UH;
          close();
          return;
        }
        int colon = od.lastIndexOf(':');
        ip = od.substring(0, colon);
        port = Integer.parseInt(od.substring(colon + 1));
        host = null;
      } else {
        host = cluster.choose(tried::contains, null);
        if (host == null) {
          flags |= ResponseFlags.UH;
          close();
          return;
        }
        tried.add(host);
        ip = host.address;
        port = offsetPort(ip, host.port);
      }
      upstreamHost = ip + ":" + port;
      Host h = host;
      if (h != null) {
        h.cxActive.incrementAndGet();
      }
      String serverName =
          cluster.sni != null ? cluster.sni : h != null && h.hostname != null ? h.hostname : ip;
      (cluster.tls
              ? client(cluster).connect(port, ip, serverName)
              : client(cluster).connect(port, ip))
          .onComplete(
              ar -> {
                if (ar.failed()) {
                  if (h != null) {
                    h.cxActive.decrementAndGet();
                    h.cxConnectFail.incrementAndGet();
                  }
                  if (done.get()) {
                    return;
                  }
                  if (attemptsLeft > 1) {
                    connect(attemptsLeft - 1, tried);
                    return;
                  }
                  flags |= ResponseFlags.UF;
                  close();
                  return;
                }
                NetSocket s = ar.result();
                if (done.get()) {
                  // the client went away while connecting
                  if (h != null) {
                    h.cxActive.decrementAndGet();
                  }
                  s.close();
                  return;
                }
                connected(s);
              });
    }

    void connected(NetSocket s) {
      up = s;
      if (s.localAddress() != null) {
        upstreamLocal = s.localAddress().hostAddress() + ":" + s.localAddress().port();
      }
      series = metrics.tcp(labels());
      series.opened();
      s.closeHandler(v -> finish());
      halfClose(d.socket(), s, () -> downEof = true);
      halfClose(s, d.socket(), () -> upEof = true);
      if (d.initial() != null && d.initial().length() > 0) {
        received += d.initial().length();
        series.received(d.initial().length());
        s.write(d.initial());
      }
      pipe(
          d.socket(),
          s,
          n -> {
            received += n;
            series.received(n);
          });
      pipe(
          s,
          d.socket(),
          n -> {
            sent += n;
            series.sent(n);
          });
      long idle = idleTimeoutMs();
      if (idle > 0) {
        armIdle(idle, idle);
      }
      d.socket().resume();
    }

    long idleTimeoutMs() {
      if (!cfg.hasIdleTimeout()) {
        return DEFAULT_IDLE_TIMEOUT_MS;
      }
      var t = cfg.getIdleTimeout();
      return t.getSeconds() * 1000 + t.getNanos() / 1_000_000;
    }

    /** Checks for idleness {@code delayMs} from now against the full {@code idleMs}. */
    void armIdle(long idleMs, long delayMs) {
      vertx.setTimer(
          Math.max(1, delayMs),
          id -> {
            if (done.get()) {
              return;
            }
            long quiet = (System.nanoTime() - lastActivity) / 1_000_000;
            if (quiet >= idleMs) {
              close();
            } else {
              armIdle(idleMs, idleMs - quiet);
            }
          });
    }

    void pipe(NetSocket from, NetSocket to, Consumer<Integer> count) {
      from.handler(
          buf -> {
            lastActivity = System.nanoTime();
            count.accept(buf.length());
            to.write(buf);
            if (to.writeQueueFull()) {
              from.pause();
              to.drainHandler(v -> from.resume());
            }
          });
    }

    /**
     * Half-close: the FIN of {@code from} is passed to {@code to} once what was read before it is
     * written; when both sides have sent theirs the connection is over.
     */
    void halfClose(NetSocket from, NetSocket to, Runnable mark) {
      Channel in = channel(from);
      Channel out = channel(to);
      if (in == null || !(out instanceof DuplexChannel duplex)) {
        from.endHandler(v -> close());
        return;
      }
      in.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
      in.pipeline()
          .addFirst(
              "tcp-proxy-half-close",
              new ChannelInboundHandlerAdapter() {
                @Override
                public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                  if (!(evt instanceof ChannelInputShutdownEvent)) {
                    ctx.fireUserEventTriggered(evt);
                    return;
                  }
                  vertx.runOnContext(
                      v -> {
                        mark.run();
                        out.eventLoop()
                            .execute(
                                () ->
                                    out.writeAndFlush(Unpooled.EMPTY_BUFFER)
                                        .addListener(
                                            f -> {
                                              duplex.shutdownOutput();
                                              if (downEof && upEof) {
                                                close();
                                              }
                                            }));
                      });
                }
              });
    }

    void close() {
      if (up != null) {
        up.close();
      }
      d.socket().close();
      finish();
    }

    void finish() {
      if (!done.compareAndSet(false, true)) {
        return;
      }
      if (up != null) {
        up.close();
        if (host != null) {
          host.cxActive.decrementAndGet();
        }
      }
      d.socket().close();
      if (leased) {
        cluster.releaseConnection();
      }
      if (series != null) {
        series.closed();
      }
      log();
    }

    void log() {
      if (!accessLog.enabled()) {
        return;
      }
      AccessLog.Entry e = new AccessLog.Entry();
      e.start = start;
      e.method = "-";
      e.path = "-";
      e.protocol = "-";
      e.status = 0;
      e.flags = flags;
      e.bytesReceived = received;
      e.bytesSent = sent;
      e.durationMs = (System.nanoTime() - startNanos) / 1_000_000;
      e.upstreamHost = upstreamHost;
      e.upstreamCluster = clusterName;
      e.upstreamLocal = upstreamLocal;
      e.downstreamLocal = d.localAddress();
      e.downstreamRemote = d.remoteAddress();
      e.serverName = d.serverName() == null || d.serverName().isEmpty() ? "-" : d.serverName();
      accessLog.log(e);
    }

    Map<String, String> labels() {
      boolean source = d.direction() != Direction.INBOUND;
      PeerLabels dst =
          source
              ? (host != null && !host.workloadMeta.isEmpty()
                  ? PeerLabels.fromWorkloadMeta(host.workloadMeta)
                  : PeerLabels.UNKNOWN)
              : self;
      PeerLabels src = source ? self : PeerLabels.UNKNOWN;
      Map<String, String> l = new LinkedHashMap<>();
      PeerLabels.putPeers(l, source, src, dst);
      String svc = cluster.serviceHost != null ? cluster.serviceHost : "unknown";
      l.put("destination_service", svc);
      l.put("destination_service_name", cluster.serviceName != null ? cluster.serviceName : svc);
      l.put(
          "destination_service_namespace",
          cluster.serviceNamespace != null ? cluster.serviceNamespace : "unknown");
      l.put("destination_cluster", dst.cluster());
      l.put("request_protocol", "tcp");
      l.put("response_flags", ResponseFlags.toString(flags));
      l.put("connection_security_policy", source ? "unknown" : "none");
      l.put("source_canonical_service", src.canonicalService());
      l.put("destination_canonical_service", dst.canonicalService());
      l.put("source_canonical_revision", src.canonicalRevision());
      l.put("destination_canonical_revision", dst.canonicalRevision());
      return l;
    }
  }

  int offsetPort(String ip, int port) {
    if (opts.localPortOffset > 0 && port < 1024 && ip.startsWith("127.")) {
      return port + opts.localPortOffset;
    }
    return port;
  }

  static Channel channel(NetSocket s) {
    return s instanceof ConnectionBase cb ? cb.channel() : null;
  }

  public void close() {
    clients.values().forEach(NetClient::close);
    tlsClients.values().forEach(t -> t.client().close());
  }
}
