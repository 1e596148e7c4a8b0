package io.shopmesh.mesh.istiod;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.controlplane.server.exception.RequestException;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.shopmesh.mesh.xds.ProxyNode;
import io.shopmesh.mesh.xds.PushContext;
import io.shopmesh.mesh.xds.ServiceRegistry;
import io.shopmesh.mesh.xds.XdsGenerator;
import io.shopmesh.mesh.xds.XdsResources;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The ADS server: java-control-plane's V3DiscoveryServer over a SimpleCache with one snapshot per
 * proxy (grouped by node id). Each snapshot's per-type version is a hash of that type's resources,
 * so a push reaches only the proxies, and only the types, whose resources changed. Callbacks track
 * what was sent, ACKed and NACKed per proxy and type.
 */
public final class XdsServer implements DiscoveryServerCallbacks, AutoCloseable {

  private static final Logger LOG = Logger.getLogger(XdsServer.class.getName());

  private final SimpleCache<String> cache = new SimpleCache<>(node -> node.getId());
  private final Map<Long, String> streamToProxy = new ConcurrentHashMap<>();
  private final XdsAuthenticator auth = new XdsAuthenticator();
  private final Map<String, ProxyStatus> proxies = new ConcurrentHashMap<>();
  private final WorkloadRegistry registry;
  private final Supplier<PushContext> pushContext;
  private final IstiodMetrics metrics;
  private final Runnable registryChanged;
  private final Object pushLock = new Object();

  /** A proxy's resources and their versions, for one config and one registry. */
  private record Translated(
      PushContext ctx,
      ServiceRegistry reg,
      XdsResources r,
      String cds,
      String eds,
      String lds,
      String rds) {}

  /**
   * The last translation per proxy, reused while config and registry are unchanged: a proxy that
   * reconnects (every proxy, after an istiod restart) is served without translating again, from
   * what {@link #pretranslate} computed before istiod was ready.
   */
  private final Map<ProxyNode, Translated> translated = new ConcurrentHashMap<>();

  private final AtomicLong translations = new AtomicLong();
  private Server grpc;

  /** Services beside xDS on the same server (the CA), so that one interceptor guards them all. */
  private final List<ServerServiceDefinition> services = new ArrayList<>();

  public XdsServer(
      WorkloadRegistry registry,
      Supplier<PushContext> pushContext,
      IstiodMetrics metrics,
      Runnable registryChanged) {
    this.registry = registry;
    this.pushContext = pushContext;
    this.metrics = metrics;
    this.registryChanged = registryChanged;
  }

  /** Adds a gRPC service to serve beside xDS; before {@link #start}. */
  public void addService(ServerServiceDefinition service) {
    services.add(service);
  }

  /** Who may connect: the registry's per-pod tokens. */
  public XdsAuthenticator authenticator() {
    return auth;
  }

  /** Starts the gRPC server; returns the bound port (useful with port 0). */
  public int start(String bind, int port) throws IOException {
    V3DiscoveryServer server =
        new V3DiscoveryServer(List.of(this), cache) {
          // A NACK carries the last ACKed version, which the cache would answer at once with the
          // same
          // rejected resources, over and over. Like Istio, wait for the next change instead.
          @Override
          protected XdsRequest wrapXdsRequest(DiscoveryRequest request) {
            // A reconnecting proxy sends the version it has; like istiod, answer a stream's first
            // request of each type anyway, so the new stream is in sync and visible in syncz.
            if (request.getResponseNonce().isEmpty() && !request.getVersionInfo().isEmpty()) {
              request = request.toBuilder().clearVersionInfo().build();
            }
            if (request.hasErrorDetail()) {
              ProxyStatus ps = proxies.get(request.getNode().getId());
              String type = shortType(request.getTypeUrl());
              if (ps != null && type != null) {
                ProxyStatus.TypeStatus ts = ps.type(type);
                synchronized (ps) {
                  if (ts.sent != null) {
                    request = request.toBuilder().setVersionInfo(ts.sent).build();
                  }
                }
              }
            }
            return super.wrapXdsRequest(request);
          }
        };
    NettyServerBuilder builder =
        NettyServerBuilder.forAddress(new InetSocketAddress(bind, port))
            .addService(server.getAggregatedDiscoveryServiceImpl())
            .addService(server.getClusterDiscoveryServiceImpl())
            .addService(server.getListenerDiscoveryServiceImpl())
            .addService(server.getRouteDiscoveryServiceImpl())
            .addService(server.getEndpointDiscoveryServiceImpl())
            // every service on this server, xDS and whatever is registered beside it (the CA)
            .intercept(auth);
    services.forEach(builder::addService);
    grpc =
        builder
            .permitKeepAliveTime(10, TimeUnit.SECONDS)
            .permitKeepAliveWithoutCalls(true)
            .build()
            .start();
    return grpc.getPort();
  }

  public int connectedProxies() {
    return proxies.size();
  }

  public List<ProxyStatus> proxies() {
    List<ProxyStatus> out = new ArrayList<>(proxies.values());
    out.sort(Comparator.comparing(p -> p.proxy().id()));
    return out;
  }

  public List<Map<String, Object>> syncz() {
    List<Map<String, Object>> out = new ArrayList<>();
    for (ProxyStatus p : proxies()) {
      out.add(p.toMap());
    }
    return out;
  }

  /** The snapshot currently served to a proxy (for debugging and tests). */
  public Snapshot snapshot(String proxyId) {
    return cache.getSnapshot(proxyId);
  }

  /** After a push: which connected proxies have ACKed, NACKed or not yet answered it. */
  public record AckState(int acked, List<String> nacked, List<String> waiting) {
    public String describe() {
      StringBuilder sb = new StringBuilder(acked + " acknowledged");
      if (!nacked.isEmpty()) {
        sb.append(", rejected (NACK) by ").append(String.join(", ", nacked));
      }
      if (!waiting.isEmpty()) {
        sb.append(", not acknowledged yet by ").append(String.join(", ", waiting));
      }
      return sb.toString();
    }
  }

  /** Waits until every connected proxy ACKed or NACKed what it was last given, or the deadline. */
  public AckState awaitAcks(long deadlineMillis) {
    while (true) {
      AckState s = ackState();
      if (s.waiting().isEmpty() || System.currentTimeMillis() >= deadlineMillis) {
        return s;
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return s;
      }
    }
  }

  private AckState ackState() {
    int acked = 0;
    List<String> nacked = new ArrayList<>();
    List<String> waiting = new ArrayList<>();
    for (ProxyStatus ps : proxies()) {
      Snapshot snap = cache.getSnapshot(ps.proxy().id());
      if (snap == null) {
        continue;
      }
      boolean all = true;
      boolean nack = false;
      synchronized (ps) {
        for (String t : ProxyStatus.TYPES) {
          String want = snap.version(resourceType(t));
          ProxyStatus.TypeStatus ts = ps.type(t);
          if (want.equals(ts.nackVersion)) {
            nack = true;
          } else if (!want.equals(ts.acked)) {
            all = false;
          }
        }
      }
      if (nack) {
        nacked.add(ps.proxy().podName());
      } else if (all) {
        acked++;
      } else {
        waiting.add(ps.proxy().podName());
      }
    }
    return new AckState(acked, nacked, waiting);
  }

  private static Resources.ResourceType resourceType(String shortType) {
    return switch (shortType) {
      case "CDS" -> Resources.ResourceType.CLUSTER;
      case "LDS" -> Resources.ResourceType.LISTENER;
      case "RDS" -> Resources.ResourceType.ROUTE;
      default -> Resources.ResourceType.ENDPOINT;
    };
  }

  // ------------------------------------------------------------------ pushes

  /** Recomputes every connected proxy's resources; sets a snapshot only where something changed. */
  public int pushAll(long changeStartNanos) {
    if (!registry.synced()) {
      return 0;
    }
    synchronized (pushLock) {
      PushContext ctx = pushContext.get();
      ServiceRegistry reg = registry.snapshot();
      int changed = 0;
      // snapshots of proxies that left (a close callback runs before its watches are cancelled)
      for (String group : new ArrayList<>(cache.groups())) {
        if (!proxies.containsKey(group)) {
          cache.clearSnapshot(group);
        }
      }
      for (ProxyStatus ps : proxies.values()) {
        if (push(ps, ctx, reg, changeStartNanos)) {
          changed++;
        }
      }
      return changed;
    }
  }

  private boolean push(
      ProxyStatus ps, PushContext ctx, ServiceRegistry reg, long changeStartNanos) {
    Translated t;
    try {
      t = translate(ps.proxy(), ctx, reg);
    } catch (RuntimeException e) {
      // the proxy keeps what it has
      LOG.log(
          Level.SEVERE,
          "cannot generate config for " + ps.proxy().id() + ", keeping its previous config",
          e);
      return false;
    }
    XdsResources r = t.r();
    String cds = t.cds();
    String eds = t.eds();
    String lds = t.lds();
    String rds = t.rds();
    Snapshot old = cache.getSnapshot(ps.proxy().id());
    if (old != null
        && cds.equals(old.version(Resources.ResourceType.CLUSTER))
        && eds.equals(old.version(Resources.ResourceType.ENDPOINT))
        && lds.equals(old.version(Resources.ResourceType.LISTENER))
        && rds.equals(old.version(Resources.ResourceType.ROUTE))) {
      return false;
    }
    synchronized (ps) {
      mark(ps, "CDS", old, Resources.ResourceType.CLUSTER, cds, changeStartNanos);
      mark(ps, "EDS", old, Resources.ResourceType.ENDPOINT, eds, changeStartNanos);
      mark(ps, "LDS", old, Resources.ResourceType.LISTENER, lds, changeStartNanos);
      mark(ps, "RDS", old, Resources.ResourceType.ROUTE, rds, changeStartNanos);
    }
    cache.setSnapshot(
        ps.proxy().id(),
        Snapshot.create(
            r.clusters(),
            cds,
            r.endpoints(),
            eds,
            r.listeners(),
            lds,
            r.routes(),
            rds,
            List.of(),
            "0"));
    return true;
  }

  private Translated translate(ProxyNode proxy, PushContext ctx, ServiceRegistry reg) {
    Translated t = translated.get(proxy);
    if (t != null && t.ctx() == ctx && t.reg().equals(reg)) {
      return t;
    }
    XdsResources r = XdsGenerator.generate(ctx, reg, proxy);
    translations.incrementAndGet();
    t =
        new Translated(
            ctx,
            reg,
            r,
            hash(r.clusters()),
            hash(r.endpoints()),
            hash(r.listeners()),
            hash(r.routes()));
    translated.put(proxy, t);
    return t;
  }

  /**
   * Translates for proxies expected to connect (the registry's planned pods), so that their first
   * requests after an istiod restart are answered at once.
   */
  public void pretranslate(List<ProxyNode> expected) {
    if (!registry.synced()) {
      return;
    }
    PushContext ctx = pushContext.get();
    ServiceRegistry reg = registry.snapshot();
    for (ProxyNode p : expected) {
      try {
        translate(p, ctx, reg);
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "cannot pre-translate for " + p.id(), e);
      }
    }
  }

  /**
   * Runs one ADS stream against this server as {@code node} (CDS and LDS, answered and ACKed), so
   * that the first streams of the real proxies after a restart do not meet a cold gRPC, HTTP/2 and
   * cache path. Returns the responses received (0 when the registry is not synced yet).
   */
  public int warmUpStream(String host, int port, ProxyNode node, long timeoutMs) {
    if (!registry.synced()) {
      return 0;
    }
    Metadata token = new Metadata();
    token.put(
        XdsAuthenticator.AUTHORIZATION,
        "Bearer " + auth.selfToken(node.podName() + "." + node.namespace()));
    ManagedChannel ch =
        NettyChannelBuilder.forAddress(host, port)
            .usePlaintext()
            .intercept(MetadataUtils.newAttachHeadersInterceptor(token))
            .build();
    CountDownLatch answered = new CountDownLatch(2);
    AtomicReference<StreamObserver<DiscoveryRequest>> requests = new AtomicReference<>();
    Node n = node.toNode();
    try {
      requests.set(
          AggregatedDiscoveryServiceGrpc.newStub(ch)
              .streamAggregatedResources(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(DiscoveryResponse r) {
                      requests
                          .get()
                          .onNext(
                              DiscoveryRequest.newBuilder()
                                  .setNode(n)
                                  .setTypeUrl(r.getTypeUrl())
                                  .setVersionInfo(r.getVersionInfo())
                                  .setResponseNonce(r.getNonce())
                                  .build());
                      answered.countDown();
                    }

                    @Override
                    public void onError(Throwable t) {
                      LOG.fine(() -> "warm-up stream: " + t);
                    }

                    @Override
                    public void onCompleted() {}
                  }));
      for (String type : List.of(Resources.V3.CLUSTER_TYPE_URL, Resources.V3.LISTENER_TYPE_URL)) {
        requests.get().onNext(DiscoveryRequest.newBuilder().setNode(n).setTypeUrl(type).build());
      }
      answered.await(timeoutMs, TimeUnit.MILLISECONDS);
      requests.get().onCompleted();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      ch.shutdown();
      try {
        ch.awaitTermination(timeoutMs, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return (int) (2 - answered.getCount());
  }

  /** How many times a proxy's resources were translated since start. */
  public long translations() {
    return translations.get();
  }

  private static void mark(
      ProxyStatus ps,
      String type,
      Snapshot old,
      Resources.ResourceType rt,
      String version,
      long start) {
    if (old == null || !version.equals(old.version(rt))) {
      ProxyStatus.TypeStatus ts = ps.type(type);
      if (ts.pushStartNanos < 0) {
        ts.pushStartNanos = start;
      }
    }
  }

  /**
   * The version of a resource list: SHA-256 over each message's deterministic serialization, cut to
   * 16 hex digits. Public so that bench measures the same hashing istiod does on every push.
   */
  public static String hash(List<? extends Message> messages) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      ByteArrayOutputStream bos = new ByteArrayOutputStream();
      for (Message m : messages) {
        bos.reset();
        CodedOutputStream out = CodedOutputStream.newInstance(bos);
        out.useDeterministicSerialization();
        m.writeTo(out);
        out.flush();
        md.update(bos.toByteArray());
        md.update((byte) 0);
      }
      return HexFormat.of().formatHex(md.digest()).substring(0, 16);
    } catch (NoSuchAlgorithmException | IOException e) {
      throw new IllegalStateException(e);
    }
  }

  // ------------------------------------------------------------------ callbacks

  static String shortType(String typeUrl) {
    if (typeUrl == null) {
      return null;
    }
    return switch (typeUrl) {
      case Resources.V3.CLUSTER_TYPE_URL -> "CDS";
      case Resources.V3.LISTENER_TYPE_URL -> "LDS";
      case Resources.V3.ROUTE_TYPE_URL -> "RDS";
      case Resources.V3.ENDPOINT_TYPE_URL -> "EDS";
      default -> null;
    };
  }

  @Override
  public void onV3StreamRequest(long streamId, DiscoveryRequest request) throws RequestException {
    String proxyId = streamToProxy.get(streamId);
    if (proxyId == null) {
      if (!registry.synced()) {
        // Istio serves no xDS before its caches sync: the proxy keeps its config and retries
        throw new RequestException(
            Status.UNAVAILABLE.withDescription(
                "istiod's registry is not synced yet (" + registry.source() + ")"));
      }
      if (!request.hasNode() || request.getNode().getId().isEmpty()) {
        throw new RequestException(
            Status.INVALID_ARGUMENT.withDescription(
                "the first request of a stream must carry the node"));
      }
      ProxyNode proxy = ProxyNode.fromNode(request.getNode());
      String refused = auth.checkNode(proxy.podName(), proxy.namespace());
      if (refused != null) {
        throw new RequestException(Status.UNAUTHENTICATED.withDescription(refused));
      }
      proxyId = proxy.id();
      streamToProxy.put(streamId, proxyId);
      connect(proxy);
    }
    ProxyStatus ps = proxies.get(proxyId);
    String type = shortType(request.getTypeUrl());
    if (ps == null || type == null || request.getResponseNonce().isEmpty()) {
      return;
    }
    ProxyStatus.TypeStatus ts = ps.type(type);
    synchronized (ps) {
      if (request.hasErrorDetail()) {
        ts.nackVersion = ts.sent;
        ts.nackError = request.getErrorDetail().getMessage();
        metrics.reject(type.toLowerCase());
        LOG.warning(
            () ->
                "NACK "
                    + type
                    + " from "
                    + ps.proxy().id()
                    + " for version "
                    + ts.sent
                    + " (nonce "
                    + request.getResponseNonce()
                    + "): "
                    + ts.nackError
                    + "; the proxy keeps version "
                    + ts.acked);
      } else if (request.getResponseNonce().equals(ts.sentNonce)) {
        ts.acked = request.getVersionInfo();
        ts.nackError = null;
        ts.nackVersion = null;
        if (ts.pushStartNanos >= 0) {
          metrics.convergence((System.nanoTime() - ts.pushStartNanos) / 1e9);
          ts.pushStartNanos = -1;
        }
      }
    }
  }

  private void connect(ProxyNode proxy) {
    synchronized (pushLock) {
      ProxyStatus ps = proxies.computeIfAbsent(proxy.id(), k -> new ProxyStatus(proxy));
      synchronized (ps) {
        ps.streams++;
      }
      registry.add(proxy.id(), proxy.toWorkload());
      // its own config before its first watch is created
      long t0 = System.nanoTime();
      long before = translations.get();
      push(ps, pushContext.get(), registry.snapshot(), t0);
      boolean kept = translations.get() == before;
      LOG.info(
          () ->
              String.format(
                  "proxy connected: %s (config %s in %d ms)",
                  proxy.id(),
                  kept ? "translated before" : "translated",
                  (System.nanoTime() - t0) / 1_000_000));
    }
    if (!registry.fromSource()) {
      // the fallback registry grew by this pod: the others' endpoints change
      registryChanged.run();
    }
  }

  @Override
  public void onV3StreamResponse(
      long streamId, DiscoveryRequest request, DiscoveryResponse response) {
    String proxyId = streamToProxy.get(streamId);
    ProxyStatus ps = proxyId == null ? null : proxies.get(proxyId);
    String type = shortType(response.getTypeUrl());
    if (type != null) {
      metrics.push(type.toLowerCase());
    }
    if (ps == null || type == null) {
      return;
    }
    synchronized (ps) {
      ProxyStatus.TypeStatus ts = ps.type(type);
      ts.sent = response.getVersionInfo();
      ts.sentNonce = response.getNonce();
    }
  }

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request)
      throws RequestException {
    throw new RequestException(Status.UNIMPLEMENTED.withDescription("use state-of-the-world ADS"));
  }

  @Override
  public void onStreamClose(long streamId, String typeUrl) {
    disconnect(streamId);
  }

  @Override
  public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
    disconnect(streamId);
  }

  private void disconnect(long streamId) {
    String proxyId = streamToProxy.remove(streamId);
    if (proxyId == null) {
      return;
    }
    boolean gone = false;
    synchronized (pushLock) {
      ProxyStatus ps = proxies.get(proxyId);
      if (ps != null) {
        synchronized (ps) {
          ps.streams--;
          gone = ps.streams <= 0;
        }
        if (gone) {
          proxies.remove(proxyId);
          translated.remove(ps.proxy());
          registry.remove(proxyId);
          cache.clearSnapshot(proxyId);
        }
      }
    }
    if (gone) {
      LOG.info(() -> "proxy disconnected: " + proxyId);
      if (!registry.fromSource()) {
        registryChanged.run();
      }
    }
  }

  @Override
  public void close() {
    if (grpc != null) {
      grpc.shutdownNow();
      try {
        grpc.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
