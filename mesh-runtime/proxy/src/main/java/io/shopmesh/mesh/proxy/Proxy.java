package io.shopmesh.mesh.proxy;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.shopmesh.mesh.proxy.admin.AdminServer;
import io.shopmesh.mesh.proxy.admin.ConfigDumper;
import io.shopmesh.mesh.proxy.http.Binding;
import io.shopmesh.mesh.proxy.http.Direction;
import io.shopmesh.mesh.proxy.http.Http1Codec;
import io.shopmesh.mesh.proxy.http.HttpConnectionManager;
import io.shopmesh.mesh.proxy.listener.ConnectionDispatcher;
import io.shopmesh.mesh.proxy.listener.OriginalDst;
import io.shopmesh.mesh.proxy.sds.WorkloadSecrets;
import io.shopmesh.mesh.proxy.stats.AccessLog;
import io.shopmesh.mesh.proxy.stats.IstioMetrics;
import io.shopmesh.mesh.proxy.tcp.TcpProxyFilter;
import io.shopmesh.mesh.proxy.trace.DecisionRecords;
import io.shopmesh.mesh.proxy.upstream.ClusterManager;
import io.shopmesh.mesh.proxy.upstream.Resolver;
import io.shopmesh.mesh.proxy.upstream.UpstreamCluster;
import io.shopmesh.mesh.proxy.xds.RouteConfigRef;
import io.shopmesh.mesh.proxy.xds.XdsClient;
import io.shopmesh.mesh.proxy.xds.XdsState;
import io.shopmesh.mesh.wire.ListenerNames;
import io.shopmesh.mesh.wire.Wellknown;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.PemKeyCertOptions;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.logging.Logger;

/** One proxy process: sidecar or router, its listeners, admin endpoints and xDS client. */
public final class Proxy implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Proxy.class.getName());

  /** Envoy's default max_request_headers_kb is 60. */
  public static final int MAX_HEADER_BYTES = 60 * 1024;

  private final ProxyOptions opts;
  private final NodeInfo node;
  private final Vertx vertx;
  private final IstioMetrics metrics = new IstioMetrics();
  private final AccessLog accessLog;
  private final ClusterManager clusters;
  private final XdsState state;
  private final HttpConnectionManager http;
  private final AdminServer admin;
  private final TcpProxyFilter tcp;
  private volatile NetClient loopbackClient;
  private volatile boolean ready;
  private volatile XdsClient xds;
  private volatile WorkloadSecrets secrets;
  private final Map<String, HttpServer> servers = new ConcurrentHashMap<>();
  private final Map<String, NetServer> netServers = new ConcurrentHashMap<>();

  /** Router role: listener name -> (server, current binding). */
  private final Map<String, RouterListener> routerListeners = new ConcurrentHashMap<>();

  /**
   * A router listener: its HTTP server (bound on the listener's address, or on loopback behind
   * {@code net} when the listener has TCP chains), and the raw listener, if any.
   */
  record RouterListener(
      HttpServer server,
      String address,
      AtomicReference<Binding> binding,
      NetServer net,
      AtomicReference<Listener> listener) {
    void close() {
      if (server != null) {
        server.close();
      }
      if (net != null) {
        net.close();
      }
    }

    int port() {
      if (net != null) {
        return net.actualPort();
      }
      return server == null ? -1 : server.actualPort();
    }
  }

  public Proxy(ProxyOptions opts) throws IOException {
    this.opts = opts;
    this.node = new NodeInfo(opts);
    // redirect mode runs on epoll so that OriginalDst can read SO_ORIGINAL_DST from the socket
    this.vertx =
        Vertx.vertx(
            new VertxOptions()
                .setEventLoopPoolSize(2)
                .setWorkerPoolSize(2)
                .setPreferNativeTransport(!opts.interceptionNone)
                .setBlockedThreadCheckInterval(10)
                .setBlockedThreadCheckIntervalUnit(TimeUnit.SECONDS));
    this.accessLog = new AccessLog(opts.accessLog);
    this.clusters =
        new ClusterManager(
            opts.certsRoot,
            new Resolver(
                vertx,
                opts.hostsFile,
                opts.dnsResolvers,
                opts.dnsMaxInFlight,
                opts.dnsMaxQueriesPerSecond));
    this.state = new XdsState(clusters);
    DecisionRecords records = new DecisionRecords(opts.decisionRecords);
    this.http = new HttpConnectionManager(vertx, state, node, metrics, accessLog, records);
    this.tcp = new TcpProxyFilter(vertx, clusters, opts, node, metrics, accessLog);
    this.admin =
        new AdminServer(
            new ConfigDumper(state, node, () -> secrets),
            clusters,
            metrics,
            () -> ready,
            () -> xds == null ? null : xds.controlPlane());
    admin.decisionRecords(records);
    if (opts.role == ProxyOptions.Role.ROUTER) {
      state.onListeners(this::reconcileRouterListeners);
    }
  }

  public NodeInfo node() {
    return node;
  }

  public XdsState state() {
    return state;
  }

  public IstioMetrics metrics() {
    return metrics;
  }

  public Vertx vertx() {
    return vertx;
  }

  public boolean isReady() {
    return ready;
  }

  /** The xDS client, or null when config is fed directly. */
  public XdsClient xds() {
    return xds;
  }

  /** The workload certificate and root from istiod's CA, or null when none is requested. */
  public WorkloadSecrets secrets() {
    return secrets;
  }

  public void markReady() {
    ready = true;
  }

  /** Starts listeners and admin ports; connects to istiod unless {@code connectXds} is false. */
  public void start(boolean connectXds) throws Exception {
    String ip = opts.bindAddress();
    // Envoy's admin, readiness and stats ports speak HTTP/1.1 only: an `Upgrade: h2c` (sent by
    // e.g. java.net.http's default client) is ignored there rather than accepted
    listen("admin", ip, opts.adminPort, admin::admin, false);
    listen("ready", ip, opts.readyPort, admin::readiness, false);
    listen("stats", ip, opts.statsPort, admin::prometheus, false);
    if (opts.role == ProxyOptions.Role.SIDECAR) {
      Binding out =
          new Binding(Direction.OUTBOUND, ListenerNames.VIRTUAL_OUTBOUND, opts.outboundPort, null);
      if (opts.interceptionNone && opts.originalDst == null) {
        listen("outbound", ip, opts.outboundPort, r -> out);
      } else {
        // redirect: virtualOutbound with use_original_dst. The original destination picks the
        // listener (ip:port, else 0.0.0.0:port, else virtualOutbound's own chains); HTTP chains
        // go to the outbound HTTP server on loopback, tcp_proxy chains to the TCP proxy
        HttpServer internal =
            vertx
                .createHttpServer(serverOptions().setUseProxyProtocol(true))
                .connectionHandler(Http1Codec::install)
                .requestHandler(r -> http.handle(r, out))
                .invalidRequestHandler(r -> http.handleInvalid(r, out));
        internal
            .listen(0, "127.0.0.1")
            .toCompletionStage()
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
        servers.put("outbound-http", internal);
        Function<NetSocket, String> od =
            opts.originalDst != null ? opts.originalDst : OriginalDst::of;
        ConnectionDispatcher d =
            new ConnectionDispatcher(
                    vertx, () -> null, Direction.OUTBOUND, tcp, accessLog, loopback())
                .useOriginalDst(
                    so -> {
                      String a = od.apply(so);
                      // not redirected (dialled directly, as an HTTP proxy): no original dst
                      return a != null
                              && so.localAddress() != null
                              && a.equals(
                                  so.localAddress().hostAddress() + ":" + so.localAddress().port())
                          ? null
                          : a;
                    },
                    this::outboundListenerFor);
        d.httpPort(internal.actualPort());
        NetServer net = vertx.createNetServer(new NetServerOptions().setTcpNoDelay(true));
        net.connectHandler(d::accept);
        net.listen(opts.outboundPort, ip)
            .toCompletionStage()
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
        netServers.put("outbound", net);
      }
      int inPort = opts.inboundPort;
      listen(
          "inbound",
          ip,
          inPort,
          r ->
              new Binding(
                  Direction.INBOUND,
                  ListenerNames.VIRTUAL_INBOUND,
                  opts.interceptionNone
                      ? (r.localAddress() != null ? r.localAddress().port() : inPort)
                      : OriginalDst.inboundPort(r, opts.ports, inPort),
                  null));
    }
    clusters.startDnsRefresh();
    if (connectXds && opts.caAddress != null) {
      secrets =
          new WorkloadSecrets(opts.caAddress, opts.nodeId(), opts.workloadCertTtl)
              .tokenFile(opts.tokenFile)
              .start();
      clusters.workloadSecrets(secrets);
    }
    if (connectXds) {
      xds =
          new XdsClient(
              opts.istiod,
              node.node(),
              state,
              () -> ready = true,
              new XdsClient.Settings(
                  opts.xdsBackoffBaseMs,
                  opts.xdsBackoffMaxMs,
                  opts.xdsKeepaliveTimeMs,
                  opts.xdsKeepaliveTimeoutMs,
                  opts.xdsMaxMessageBytes,
                  opts.maxClusters));
      xds.tokenFile(opts.tokenFile);
      xds.start();
    }
  }

  private void listen(String name, String ip, int port, Handler<HttpServerRequest> h, boolean h2c)
      throws Exception {
    HttpServer s =
        vertx.createHttpServer(serverOptions().setHttp2ClearTextEnabled(h2c)).requestHandler(h);
    s.listen(port, ip).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    servers.put(name, s);
  }

  /** A data-plane listener: every request, parsable or not, goes to the connection manager. */
  private void listen(String name, String ip, int port, Function<HttpServerRequest, Binding> b)
      throws Exception {
    HttpServer s =
        vertx
            .createHttpServer(serverOptions())
            .connectionHandler(Http1Codec::install)
            .requestHandler(r -> http.handle(r, b.apply(r)))
            .invalidRequestHandler(r -> http.handleInvalid(r, b.apply(r)));
    s.listen(port, ip).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    servers.put(name, s);
  }

  static HttpServerOptions serverOptions() {
    return new HttpServerOptions()
        .setMaxHeaderSize(MAX_HEADER_BYTES)
        .setMaxInitialLineLength(MAX_HEADER_BYTES)
        .setHttp2ClearTextEnabled(true)
        .setHandle100ContinueAutomatically(true)
        .setDecompressionSupported(false)
        .setCompressionSupported(false)
        .setIdleTimeout(300)
        .setIdleTimeoutUnit(TimeUnit.SECONDS);
  }

  /**
   * The bound port of a named server: admin, ready, stats, outbound, inbound, or a listener name.
   */
  public int port(String name) {
    NetServer ns = netServers.get(name);
    if (ns != null) {
      return ns.actualPort();
    }
    HttpServer s = servers.get(name);
    if (s == null) {
      RouterListener rl = routerListeners.get(name);
      return rl == null ? -1 : rl.port();
    }
    return s.actualPort();
  }

  private synchronized void reconcileRouterListeners(Map<String, Listener> listeners) {
    for (String name : List.copyOf(routerListeners.keySet())) {
      if (!listeners.containsKey(name)) {
        RouterListener gone = routerListeners.remove(name);
        gone.close();
      }
    }
    for (Listener l : listeners.values()) {
      if (!l.getAddress().hasSocketAddress()
          || (l.getFilterChainsCount() == 0 && !l.hasDefaultFilterChain())) {
        continue;
      }
      int port = l.getAddress().getSocketAddress().getPortValue();
      RouteConfigRef rds = null;
      List<Binding.SniRoute> sni = new ArrayList<>();
      PemKeyCertOptions certs = null;
      StringBuilder tlsKey = new StringBuilder();
      for (int i = 0; i < l.getFilterChainsCount(); i++) {
        FilterChain fc = l.getFilterChains(i);
        var hcm = XdsState.hcm(fc);
        if (hcm == null) {
          continue;
        }
        RouteConfigRef name = RouteConfigRef.of(l.getName(), i, hcm);
        if (rds == null) {
          rds = name;
        }
        sni.add(new Binding.SniRoute(fc.getFilterChainMatch().getServerNamesList(), name));
        DownstreamTlsContext tls = downstreamTls(fc);
        if (tls != null) {
          for (TlsCertificate tc : tls.getCommonTlsContext().getTlsCertificatesList()) {
            if (certs == null) {
              certs = new PemKeyCertOptions();
            }
            String cert =
                UpstreamCluster.mapCertPath(tc.getCertificateChain().getFilename(), opts.certsRoot)
                    .toString();
            String key =
                UpstreamCluster.mapCertPath(tc.getPrivateKey().getFilename(), opts.certsRoot)
                    .toString();
            certs.addCertPath(cert).addKeyPath(key);
            tlsKey.append(cert).append('|').append(key).append(';');
          }
        }
      }
      boolean raw = ConnectionDispatcher.needsRawListener(l);
      if (rds == null && !raw) {
        continue;
      }
      String address = opts.listenerBind.getOrDefault(port, opts.bindAddress() + ":" + port);
      String identity = address + "#" + tlsKey + (raw ? "#raw" : "");
      Binding b =
          rds == null
              ? null
              : new Binding(Direction.GATEWAY, l.getName(), port, rds, List.copyOf(sni));
      RouterListener existing = routerListeners.get(l.getName());
      if (existing != null
          && existing.address().equals(identity)
          && (existing.server() == null) == (b == null)) {
        existing.binding().set(b);
        if (existing.listener() != null) {
          existing.listener().set(l);
        }
        continue;
      }
      if (existing != null) {
        existing.close();
      }
      AtomicReference<Binding> ref = new AtomicReference<>(b);
      int colon = address.lastIndexOf(':');
      String host = address.substring(0, colon);
      int bindPort = Integer.parseInt(address.substring(colon + 1));
      HttpServer s = null;
      NetServer net = null;
      AtomicReference<Listener> current = null;
      try {
        if (b != null) {
          HttpServerOptions so = serverOptions();
          if (certs != null) {
            // Gateway TLS termination; with several servers the certificate is chosen by SNI.
            so.setSsl(true).setSni(true).setUseAlpn(true).setKeyCertOptions(certs);
          }
          if (raw) {
            // behind the raw listener: it sends the client's addresses in a PROXY header
            so.setUseProxyProtocol(true);
          }
          s =
              vertx
                  .createHttpServer(so)
                  .connectionHandler(Http1Codec::install)
                  .requestHandler(r -> http.handle(r, ref.get()))
                  .invalidRequestHandler(r -> http.handleInvalid(r, ref.get()));
          s.listen(raw ? 0 : bindPort, raw ? "127.0.0.1" : host)
              .toCompletionStage()
              .toCompletableFuture()
              .get(10, TimeUnit.SECONDS);
        }
        if (raw) {
          current = new AtomicReference<>(l);
          AtomicReference<Listener> cur = current;
          ConnectionDispatcher d =
              new ConnectionDispatcher(
                  vertx, cur::get, Direction.GATEWAY, tcp, accessLog, loopback());
          if (s != null) {
            d.httpPort(s.actualPort());
          }
          net = vertx.createNetServer(new NetServerOptions().setTcpNoDelay(true));
          net.connectHandler(d::accept);
          net.listen(bindPort, host)
              .toCompletionStage()
              .toCompletableFuture()
              .get(10, TimeUnit.SECONDS);
        }
        routerListeners.put(l.getName(), new RouterListener(s, identity, ref, net, current));
      } catch (Exception e) {
        if (s != null) {
          s.close();
        }
        LOG.warning("cannot bind listener " + l.getName() + " on " + address + ": " + e);
        throw new IllegalArgumentException(
            "cannot bind listener " + l.getName() + " on " + address);
      }
    }
  }

  /**
   * The listener for a redirected outbound connection, as Envoy's use_original_dst finds it: the
   * listener at the original destination's ip:port, else at 0.0.0.0:port, else virtualOutbound. A
   * connection without an original destination (dialled as an HTTP proxy) is HTTP.
   */
  private Listener outboundListenerFor(String od) {
    if (od != null) {
      int colon = od.lastIndexOf(':');
      String ip = od.substring(0, colon);
      int port = Integer.parseInt(od.substring(colon + 1));
      Listener wildcard = null;
      Listener virtualOutbound = null;
      for (XdsState.Versioned<Listener> v : state.listeners().values()) {
        Listener l = v.resource();
        if (l.getName().equals(ListenerNames.VIRTUAL_OUTBOUND)) {
          virtualOutbound = l;
          continue;
        }
        if (!l.getAddress().hasSocketAddress()
            || l.getAddress().getSocketAddress().getPortValue() != port) {
          continue;
        }
        String a = l.getAddress().getSocketAddress().getAddress();
        if (a.equals(ip)) {
          return l;
        }
        if (a.equals("0.0.0.0") || a.equals("::")) {
          wildcard = l;
        }
      }
      if (wildcard != null) {
        return wildcard;
      }
      if (virtualOutbound != null) {
        return virtualOutbound;
      }
    }
    return HTTP_ONLY;
  }

  /** A listener whose one chain is an HTTP connection manager: the HTTP path as before LDS. */
  private static final Listener HTTP_ONLY =
      Listener.newBuilder()
          .setName(ListenerNames.VIRTUAL_OUTBOUND)
          .addFilterChains(
              FilterChain.newBuilder()
                  .addFilters(
                      Filter.newBuilder()
                          .setName(Wellknown.HTTP_CONNECTION_MANAGER)
                          .setTypedConfig(
                              Any.newBuilder()
                                  .setTypeUrl(
                                      "type.googleapis.com/envoy.extensions.filters.network"
                                          + ".http_connection_manager.v3.HttpConnectionManager"))))
          .build();

  private NetClient loopback() {
    NetClient c = loopbackClient;
    if (c == null) {
      synchronized (this) {
        if (loopbackClient == null) {
          loopbackClient =
              vertx.createNetClient(
                  new NetClientOptions().setConnectTimeout(5000).setTcpNoDelay(true));
        }
        c = loopbackClient;
      }
    }
    return c;
  }

  private static DownstreamTlsContext downstreamTls(FilterChain fc) {
    if (!fc.hasTransportSocket() || !fc.getTransportSocket().hasTypedConfig()) {
      return null;
    }
    try {
      return fc.getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class);
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  /** Feeds resources directly (tests): clusters, endpoints, listeners, routes; then ready. */
  public void apply(
      List<Cluster> cds,
      List<ClusterLoadAssignment> eds,
      List<Listener> lds,
      List<RouteConfiguration> rds) {
    state.applyClusters(cds, "1");
    state.applyEndpoints(eds, "1");
    state.applyListeners(lds, "1");
    state.applyRoutes(rds, "1");
    ready = true;
  }

  @Override
  public void close() {
    if (xds != null) {
      xds.close();
    }
    if (secrets != null) {
      secrets.close();
    }
    accessLog.close();
    clusters.close();
    Future<Void> f = vertx.close();
    try {
      f.toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      // best effort
    }
  }
}
