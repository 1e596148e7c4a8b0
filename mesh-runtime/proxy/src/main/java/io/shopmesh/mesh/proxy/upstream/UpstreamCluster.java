package io.shopmesh.mesh.proxy.upstream;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.RoutingPriority;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.shopmesh.mesh.proxy.router.RouteTable;
import io.shopmesh.mesh.proxy.sds.WorkloadSecrets;
import io.shopmesh.mesh.wire.IstioMetadata;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.TrustOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import java.util.function.Supplier;

/** A Cluster resource made usable: endpoints, load balancer, limits, outlier detection, client. */
public final class UpstreamCluster {
  public static final String HTTP_OPTIONS =
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

  public final String name;
  public final Cluster proto;
  public final Cluster.DiscoveryType type;
  public final String lbPolicy;
  public final LoadBalancer lb;
  static final int DEFAULT_IDLE_TIMEOUT_SECONDS = 60;

  public final long maxConnections;
  public final long maxPending;
  public final long maxRequests;
  public final long maxRetries;
  public final int maxRequestsPerConnection;

  /**
   * Seconds a pooled connection may stay idle before it is closed: {@code
   * common_http_protocol_options.idle_timeout} (Istio's connectionPool.http.idleTimeout, else
   * tcp.idleTimeout), rounded up to a second (the pool's granularity); 0 = never. Unset: 60 s
   * (Envoy's default is 1 h; see docs/proxy.md).
   */
  public final int idleTimeoutSeconds;

  public final long connectTimeoutMs;
  public final boolean http2;
  public final boolean tls;
  public final String sni;

  /** The TLS origination settings, or null for plaintext. */
  public final UpstreamTls tlsSettings;

  public final double panicThreshold;
  // outlier detection (0 = disabled)
  public final int consecutive5xx;
  public final int consecutiveGateway;
  public final long baseEjectionMs;
  public final int maxEjectionPercent;

  /** filter_metadata.istio.services[0]: host, name, namespace (null when absent). */
  public final String serviceHost;

  public final String serviceName;
  public final String serviceNamespace;

  private volatile List<Host> hosts = List.of();
  // Circuit breaking and stats: changed only through leases and the methods below.
  private final AtomicInteger activeRequests = new AtomicInteger();
  private final AtomicInteger activeRetries = new AtomicInteger();
  private final AtomicInteger activeTcpConnections = new AtomicInteger();
  private final AtomicLong overflow = new AtomicLong();
  private final AtomicLong rqTotal = new AtomicLong();
  private final AtomicLong retries = new AtomicLong();
  private final AtomicLong ejectionsTotal = new AtomicLong();
  private final Map<HttpConnection, AtomicInteger> perConnection = new ConcurrentHashMap<>();
  private volatile HttpClient client;

  public UpstreamCluster(Cluster c, Path certsRoot) {
    this(c, certsRoot, () -> null);
  }

  /**
   * @param secrets the workload's certificate and root, for TLS contexts naming SDS {@code default}
   *     / {@code ROOTCA}
   */
  public UpstreamCluster(Cluster c, Path certsRoot, Supplier<WorkloadSecrets> secrets) {
    this.name = c.getName();
    this.proto = c;
    this.type =
        c.hasType() || c.getClusterDiscoveryTypeCase() == Cluster.ClusterDiscoveryTypeCase.TYPE
            ? c.getType()
            : Cluster.DiscoveryType.STATIC;
    this.lbPolicy = c.getLbPolicy().name();
    if (c.getLbPolicy() == Cluster.LbPolicy.CLUSTER_PROVIDED
        || c.getLbPolicy() == Cluster.LbPolicy.LOAD_BALANCING_POLICY_CONFIG) {
      if (type != Cluster.DiscoveryType.ORIGINAL_DST) {
        throw new IllegalArgumentException(
            "cluster " + name + ": unsupported lb_policy " + lbPolicy);
      }
    }
    this.lb = LoadBalancer.of(lbPolicy);
    long mc = 1024;
    long mp = 1024;
    long mr = 1024;
    long mrt = 3;
    if (c.hasCircuitBreakers()) {
      for (CircuitBreakers.Thresholds t : c.getCircuitBreakers().getThresholdsList()) {
        if (t.getPriority() == RoutingPriority.DEFAULT) {
          if (t.hasMaxConnections()) {
            mc = Integer.toUnsignedLong(t.getMaxConnections().getValue());
          }
          if (t.hasMaxPendingRequests()) {
            mp = Integer.toUnsignedLong(t.getMaxPendingRequests().getValue());
          }
          if (t.hasMaxRequests()) {
            mr = Integer.toUnsignedLong(t.getMaxRequests().getValue());
          }
          if (t.hasMaxRetries()) {
            mrt = Integer.toUnsignedLong(t.getMaxRetries().getValue());
          }
        }
      }
    }
    maxConnections = mc;
    maxPending = mp;
    maxRequests = mr;
    maxRetries = mrt;
    int mrpc = c.hasMaxRequestsPerConnection() ? c.getMaxRequestsPerConnection().getValue() : 0;
    int idle = DEFAULT_IDLE_TIMEOUT_SECONDS;
    boolean h2 = c.hasHttp2ProtocolOptions();
    Any po = c.getTypedExtensionProtocolOptionsMap().get(HTTP_OPTIONS);
    HttpProtocolOptions hpo = null;
    if (po != null) {
      try {
        hpo = po.unpack(HttpProtocolOptions.class);
        if (hpo.getCommonHttpProtocolOptions().hasMaxRequestsPerConnection()) {
          mrpc = hpo.getCommonHttpProtocolOptions().getMaxRequestsPerConnection().getValue();
        }
        if (hpo.getCommonHttpProtocolOptions().hasIdleTimeout()) {
          long ms = RouteTable.millis(hpo.getCommonHttpProtocolOptions().getIdleTimeout());
          idle = (int) Math.min(Integer.MAX_VALUE, (ms + 999) / 1000);
        }
        if (hpo.hasExplicitHttpConfig() && hpo.getExplicitHttpConfig().hasHttp2ProtocolOptions()) {
          h2 = true;
        }
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalArgumentException("cluster " + name + ": bad " + HTTP_OPTIONS);
      }
    }
    maxRequestsPerConnection = mrpc;
    idleTimeoutSeconds = idle;
    http2 = h2;
    connectTimeoutMs =
        c.hasConnectTimeout() ? Math.max(1, RouteTable.millis(c.getConnectTimeout())) : 5000;
    // TLS origination (DestinationRule tls.mode SIMPLE/MUTUAL).
    UpstreamTls t = null;
    if (c.hasTransportSocket()
        && c.getTransportSocket().getName().contains("tls")
        && c.getTransportSocket().hasTypedConfig()) {
      try {
        UpstreamTlsContext u =
            c.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
        t = UpstreamTls.of(u, hpo, certsRoot, secrets);
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalArgumentException("cluster " + name + ": bad UpstreamTlsContext");
      }
    }
    tlsSettings = t;
    tls = t != null;
    sni = t == null ? null : t.sni();
    double panic = 50;
    if (c.hasCommonLbConfig() && c.getCommonLbConfig().hasHealthyPanicThreshold()) {
      panic = c.getCommonLbConfig().getHealthyPanicThreshold().getValue();
    }
    panicThreshold = panic;
    if (c.hasOutlierDetection()) {
      OutlierDetection od = c.getOutlierDetection();
      int c5 = od.hasConsecutive5Xx() ? od.getConsecutive5Xx().getValue() : 5;
      int e5 = od.hasEnforcingConsecutive5Xx() ? od.getEnforcingConsecutive5Xx().getValue() : 100;
      int cg = od.hasConsecutiveGatewayFailure() ? od.getConsecutiveGatewayFailure().getValue() : 5;
      int eg =
          od.hasEnforcingConsecutiveGatewayFailure()
              ? od.getEnforcingConsecutiveGatewayFailure().getValue()
              : 0;
      consecutive5xx = e5 > 0 ? c5 : 0;
      consecutiveGateway = eg > 0 ? cg : 0;
      baseEjectionMs =
          od.hasBaseEjectionTime() ? RouteTable.millis(od.getBaseEjectionTime()) : 30_000;
      maxEjectionPercent = od.hasMaxEjectionPercent() ? od.getMaxEjectionPercent().getValue() : 10;
    } else {
      consecutive5xx = 0;
      consecutiveGateway = 0;
      baseEjectionMs = 30_000;
      maxEjectionPercent = 10;
    }
    String[] svc = istioService(c);
    serviceHost = svc[0];
    serviceName = svc[1];
    serviceNamespace = svc[2];
  }

  public List<Host> hosts() {
    return hosts;
  }

  void setHosts(List<Host> hs) {
    hosts = List.copyOf(hs);
  }

  public int activeRequests() {
    return activeRequests.get();
  }

  public long rqTotal() {
    return rqTotal.get();
  }

  public long retries() {
    return retries.get();
  }

  public long overflow() {
    return overflow.get();
  }

  public long ejectionsTotal() {
    return ejectionsTotal.get();
  }

  /**
   * Takes a request against max_requests (circuit breaking) for a host, or returns null and counts
   * an overflow when the cluster is at its limit.
   */
  public RequestLease tryAcquire(Host host) {
    if (activeRequests.get() >= maxRequests) {
      overflow.incrementAndGet();
      return null;
    }
    return new RequestLease(host);
  }

  /**
   * Takes a TCP proxy connection against max_connections (circuit breaking); false and an overflow
   * counted when the cluster is at its limit. Give it back with {@link #releaseConnection}.
   */
  public boolean tryAcquireConnection() {
    while (true) {
      int n = activeTcpConnections.get();
      if (n >= maxConnections) {
        overflow.incrementAndGet();
        return false;
      }
      if (activeTcpConnections.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  public void releaseConnection() {
    activeTcpConnections.decrementAndGet();
  }

  public int activeTcpConnections() {
    return activeTcpConnections.get();
  }

  /** A request to an original destination (no host of this cluster): counted, never refused. */
  public RequestLease acquirePassthrough() {
    return new RequestLease(null);
  }

  /** An overflow seen by the connection pool (its wait queue is max_pending_requests). */
  public void recordOverflow() {
    overflow.incrementAndGet();
  }

  /** Takes a retry against max_retries; false when the budget is spent. */
  public boolean tryAcquireRetry() {
    if (activeRetries.get() >= maxRetries) {
      return false;
    }
    retries.incrementAndGet();
    activeRetries.incrementAndGet();
    return true;
  }

  /** Returns a retry taken by {@link #tryAcquireRetry} (when its attempt starts). */
  public void releaseRetry() {
    activeRetries.decrementAndGet();
  }

  /**
   * One upstream request counted against the cluster and its host, with its outcome fed to outlier
   * detection and the host's stats. Released exactly once, however often release runs.
   */
  public final class RequestLease {
    private final Host host;
    private boolean released;

    private RequestLease(Host host) {
      this.host = host;
      activeRequests.incrementAndGet();
      rqTotal.incrementAndGet();
      if (host != null) {
        host.active.incrementAndGet();
        host.rqTotal.incrementAndGet();
      }
    }

    public Host host() {
      return host;
    }

    public void release() {
      if (!released) {
        released = true;
        activeRequests.decrementAndGet();
        if (host != null) {
          host.active.decrementAndGet();
        }
      }
    }

    /** The upstream answered with this status. */
    public void onResponse(int status) {
      if (host != null) {
        recordResult(host, status, false);
        if (status >= 500) {
          host.rqError.incrementAndGet();
        } else {
          host.rqSuccess.incrementAndGet();
        }
      }
    }

    /** A connect failure or a reset before the response. */
    public void onFailure(boolean connectFailure) {
      if (host != null) {
        if (connectFailure) {
          host.cxConnectFail.incrementAndGet();
        }
        host.rqError.incrementAndGet();
        recordResult(host, 0, true);
      }
    }

    /** A per-try timeout: counts as a 504 for outlier detection. */
    public void onTimeout() {
      if (host != null) {
        host.rqTimeout.incrementAndGet();
        recordResult(host, 504, false);
      }
    }
  }

  /** A file under /etc/certs/ is read from --certs-root instead (local stand-in for a volume). */
  public static Path mapCertPath(String file, Path certsRoot) {
    if (certsRoot != null && file.startsWith("/etc/certs/")) {
      return certsRoot.resolve(file.substring("/etc/certs/".length()));
    }
    return Path.of(file);
  }

  private static String[] istioService(Cluster c) {
    Struct istio = c.getMetadata().getFilterMetadataMap().get(IstioMetadata.ISTIO);
    if (istio != null) {
      Value services = istio.getFieldsMap().get(IstioMetadata.SERVICES);
      if (services != null
          && services.hasListValue()
          && services.getListValue().getValuesCount() > 0) {
        Struct s = services.getListValue().getValues(0).getStructValue();
        return new String[] {
          str(s, IstioMetadata.SERVICE_HOST),
          str(s, IstioMetadata.SERVICE_NAME),
          str(s, IstioMetadata.SERVICE_NAMESPACE)
        };
      }
    }
    return new String[] {null, null, null};
  }

  private static String str(Struct s, String k) {
    Value v = s.getFieldsMap().get(k);
    return v == null ? null : v.getStringValue();
  }

  /** The HTTP client of this cluster, created on first use. */
  public HttpClient client(Vertx vertx) {
    HttpClient c = client;
    if (c == null) {
      synchronized (this) {
        if (client == null) {
          HttpClientOptions o =
              new HttpClientOptions()
                  .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, connectTimeoutMs))
                  .setKeepAlive(true)
                  .setKeepAliveTimeout(idleTimeoutSeconds)
                  .setHttp2KeepAliveTimeout(idleTimeoutSeconds)
                  .setDecompressionSupported(false)
                  .setTryUseCompression(false)
                  .setMaxHeaderSize(96 * 1024)
                  .setVerifyHost(false);
          if (http2) {
            o.setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false);
          }
          if (tls) {
            o.setSsl(true).setForceSni(true);
            if (tlsSettings.verify()) {
              o.setTrustOptions(TrustOptions.wrap(tlsSettings.trustManager()));
            } else {
              o.setTrustAll(true);
            }
            if (tlsSettings.keyManager() != null) {
              o.setKeyCertOptions(KeyCertOptions.wrap(tlsSettings.keyManager()));
            }
          }
          int pool = (int) Math.min(maxConnections, 4096);
          PoolOptions p =
              new PoolOptions()
                  .setHttp1MaxSize(Math.max(1, pool))
                  .setHttp2MaxSize(Math.max(1, Math.min(pool, 16)))
                  .setMaxWaitQueueSize(maxPending >= Integer.MAX_VALUE ? -1 : (int) maxPending);
          client = vertx.createHttpClient(o, p);
        }
        c = client;
      }
    }
    return c;
  }

  /** Counts a request on a connection; true when this is the connection's last allowed request. */
  public boolean countOnConnection(HttpConnection conn) {
    if (maxRequestsPerConnection <= 0 || conn == null) {
      return false;
    }
    AtomicInteger n =
        perConnection.computeIfAbsent(
            conn,
            k -> {
              k.closeHandler(v -> perConnection.remove(k));
              return new AtomicInteger();
            });
    return n.incrementAndGet() >= maxRequestsPerConnection;
  }

  public void close() {
    HttpClient c = client;
    if (c != null) {
      c.close();
    }
  }

  /** Picks a host: healthy ones, or all of them in panic mode, honouring the exclusion. */
  public Host choose(Predicate<Host> exclude, Long hash) {
    List<Host> hs = hosts;
    if (hs.isEmpty()) {
      return null;
    }
    int healthy = 0;
    for (Host h : hs) {
      if (h.healthy()) {
        healthy++;
      }
    }
    boolean panic = panicThreshold > 0 && healthy * 100.0 / hs.size() < panicThreshold;
    Predicate<Host> base = panic ? h -> true : Host::healthy;
    if (healthy == 0 && !panic) {
      return null;
    }
    Host h = lb.choose(hs, base.and(exclude.negate()), hash);
    if (h == null && exclude != null) {
      h = lb.choose(hs, base, hash);
    }
    return h;
  }

  /** Outlier detection: record an upstream result (status 0 = connect failure/reset/timeout). */
  void recordResult(Host h, int status, boolean localOriginFailure) {
    boolean gw = localOriginFailure || status == 502 || status == 503 || status == 504;
    boolean five = localOriginFailure || status >= 500;
    boolean eject = false;
    synchronized (h) {
      if (five) {
        h.consecutive5xx++;
      } else {
        h.consecutive5xx = 0;
      }
      if (gw) {
        h.consecutiveGatewayFailure++;
      } else {
        h.consecutiveGatewayFailure = 0;
      }
      if ((consecutive5xx > 0 && h.consecutive5xx >= consecutive5xx)
          || (consecutiveGateway > 0 && h.consecutiveGatewayFailure >= consecutiveGateway)) {
        eject = !h.ejected();
      }
    }
    if (eject && canEject()) {
      synchronized (h) {
        h.ejections++;
        h.ejectedUntilNanos = System.nanoTime() + baseEjectionMs * 1_000_000L * h.ejections;
        h.consecutive5xx = 0;
        h.consecutiveGatewayFailure = 0;
      }
      ejectionsTotal.incrementAndGet();
    }
  }

  private boolean canEject() {
    List<Host> hs = hosts;
    int ejected = 0;
    for (Host h : hs) {
      if (h.ejected()) {
        ejected++;
      }
    }
    // Envoy always allows ejecting at least one host.
    return ejected == 0 || (ejected + 1) * 100.0 / hs.size() <= maxEjectionPercent;
  }
}
