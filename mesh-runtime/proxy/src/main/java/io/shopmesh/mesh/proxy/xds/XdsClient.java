package io.shopmesh.mesh.proxy.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.rpc.Status;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * ADS client as Envoy runs it: wildcard CDS and LDS, then EDS and RDS by the names the accepted
 * clusters and listeners ask for; ACK with version_info + response_nonce, NACK with error_detail
 * while keeping the previous config. When the stream ends it keeps serving the last good config and
 * opens a new stream after a jittered exponential backoff, announcing the versions it holds.
 *
 * <p>Everything runs on one thread ("xds-client"): gRPC callbacks, applying updates and the retry
 * timer. Applying never blocks on I/O (DNS is resolved elsewhere), so the stream is always served.
 */
public final class XdsClient implements AutoCloseable {
  public static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  public static final String EDS =
      "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
  public static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
  public static final String RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
  private static final Logger LOG = Logger.getLogger(XdsClient.class.getName());
  private static final Map<String, String> SHORT =
      Map.of(CDS, "CDS", EDS, "EDS", LDS, "LDS", RDS, "RDS");

  /**
   * Stream settings. Backoff as Envoy's JitteredExponentialBackOffStrategy: each delay is uniform
   * in [0, interval), the interval starts at {@code backoffBaseMs} and doubles up to {@code
   * backoffMaxMs}, and resets when a response arrives. Keepalive: HTTP/2 pings after {@code
   * keepaliveTimeMs} without reads; no answer within {@code keepaliveTimeoutMs} ends the stream (a
   * frozen istiod is detected). istiod permits pings every 10 s at most.
   */
  public record Settings(
      long backoffBaseMs,
      long backoffMaxMs,
      long keepaliveTimeMs,
      long keepaliveTimeoutMs,
      int maxMessageBytes,
      int maxClusters) {
    public static Settings defaults() {
      return new Settings(500, 1_000, 15_000, 5_000, 0, 0);
    }

    /** 0: an eighth of the heap, at most 64 MiB (a 26,727-cluster CDS is about 8 MiB). */
    int messageLimit() {
      return maxMessageBytes > 0
          ? maxMessageBytes
          : (int) Math.min(64L << 20, Runtime.getRuntime().maxMemory() / 8);
    }

    /** 0: half the heap at ~4 KB per compiled cluster (16,384 with a 128 MB heap). */
    int clusterLimit() {
      return maxClusters > 0
          ? maxClusters
          : (int) Math.min(Integer.MAX_VALUE, Runtime.getRuntime().maxMemory() / 2 / CLUSTER_BYTES);
    }
  }

  /** Heap per cluster held (proto, compiled cluster, indexes), measured in DnsResolutionTest. */
  static final long CLUSTER_BYTES = 4_096;

  /** Per type: what we accepted and what we last saw. */
  static final class TypeState {
    String acceptedVersion = "";
    String lastNonce = "";
    String lastError;
    Set<String> names = new TreeSet<>();
    boolean acked;
  }

  private final String target;
  private final Node node;
  private final XdsState state;
  private final Runnable onFirstAck;
  private final Settings settings;
  private final Map<String, TypeState> types = new LinkedHashMap<>();
  private final ScheduledExecutorService xdsThread =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "xds-client");
            t.setDaemon(true);
            return t;
          });
  private ManagedChannel channel;
  private StreamObserver<DiscoveryRequest> requests;
  private Object current;
  private boolean closed;
  private boolean ready;
  private long backoffIntervalMs;
  private long streamsOpened;
  private int attemptsSinceAnswer;
  private String lastError;
  private Instant lastErrorTime;
  private Instant lastAck;
  private Instant streamStarted;
  private String connState = ControlPlaneStatus.DISCONNECTED;
  private Instant connSince = Instant.now();
  private volatile ControlPlaneStatus status;

  private volatile Path tokenFile;

  /**
   * The file holding this pod's token for istiod ({@code authorization: Bearer}), read at each new
   * stream so a replaced token is picked up; Istio's proxies send the pod's service-account token.
   */
  public XdsClient tokenFile(Path file) {
    this.tokenFile = file;
    return this;
  }

  private AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub adsStub() {
    AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub stub =
        AggregatedDiscoveryServiceGrpc.newStub(channel);
    Path f = tokenFile;
    if (f == null) {
      return stub;
    }
    Metadata md = IstiodToken.attach(f, new Metadata());
    return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
  }

  public XdsClient(String target, Node node, XdsState state, Runnable onReady) {
    this(target, node, state, onReady, Settings.defaults());
  }

  public XdsClient(String target, Node node, XdsState state, Runnable onReady, Settings settings) {
    this.target = target;
    this.node = node;
    this.state = state;
    this.onFirstAck = onReady;
    this.settings = settings;
    this.backoffIntervalMs = settings.backoffBaseMs();
    for (String t : List.of(CDS, EDS, LDS, RDS)) {
      types.put(t, new TypeState());
    }
    publish();
  }

  public void start() {
    xdsThread.execute(this::openStream);
  }

  /** The control plane connection as the admin port shows it; never blocks. */
  public ControlPlaneStatus controlPlane() {
    return status;
  }

  /** Accepted version per type URL, with the last NACK reason if the last update was rejected. */
  public Map<String, String> status() {
    ControlPlaneStatus s = status;
    Map<String, String> out = new LinkedHashMap<>();
    types
        .keySet()
        .forEach(
            k -> {
              String shortName = SHORT.get(k);
              String nack = s.nacks().get(shortName);
              out.put(
                  k, s.versions().get(shortName) + (nack != null ? " (NACK: " + nack + ")" : ""));
            });
    return out;
  }

  private void publish() {
    Map<String, String> versions = new TreeMap<>();
    Map<String, String> nacks = new TreeMap<>();
    types.forEach(
        (k, v) -> {
          versions.put(SHORT.get(k), v.acceptedVersion);
          if (v.lastError != null) {
            nacks.put(SHORT.get(k), v.lastError);
          }
        });
    status =
        new ControlPlaneStatus(
            target,
            connState,
            connSince,
            streamStarted,
            lastAck,
            attemptsSinceAnswer,
            Math.max(0, streamsOpened - 1),
            lastError,
            lastErrorTime,
            Map.copyOf(versions),
            Map.copyOf(nacks));
  }

  private void setState(String s) {
    if (!s.equals(connState)) {
      connState = s;
      connSince = Instant.now();
    }
  }

  private synchronized void openStream() {
    if (closed) {
      return;
    }
    // A fresh channel per stream: gRPC's own reconnect backoff (up to 2 min) never delays ours.
    if (channel != null) {
      channel.shutdownNow();
    }
    channel =
        NettyChannelBuilder.forTarget(target)
            .usePlaintext()
            .executor(xdsThread)
            .keepAliveTime(settings.keepaliveTimeMs(), TimeUnit.MILLISECONDS)
            .keepAliveTimeout(settings.keepaliveTimeoutMs(), TimeUnit.MILLISECONDS)
            .maxInboundMessageSize(settings.messageLimit())
            .build();
    StreamObserver<DiscoveryResponse> responses =
        new StreamObserver<>() {
          @Override
          public void onNext(DiscoveryResponse r) {
            handle(this, r);
          }

          @Override
          public void onError(Throwable t) {
            streamClosed(this, t.toString());
          }

          @Override
          public void onCompleted() {
            streamClosed(this, "stream completed by istiod");
          }
        };
    current = responses;
    streamsOpened++;
    attemptsSinceAnswer++;
    streamStarted = Instant.now();
    setState(ControlPlaneStatus.CONNECTING);
    publish();
    requests = adsStub().streamAggregatedResources(responses);
    for (TypeState ts : types.values()) {
      ts.lastNonce = "";
    }
    // Envoy's order: CDS and LDS as wildcards, then EDS/RDS for names already known. Each carries
    // the version held, so istiod can tell what this proxy already serves.
    send(CDS);
    send(LDS);
    if (!types.get(EDS).names.isEmpty()) {
      send(EDS);
    }
    if (!types.get(RDS).names.isEmpty()) {
      send(RDS);
    }
  }

  private synchronized void streamClosed(Object which, String why) {
    if (which != current || closed) {
      return;
    }
    current = null;
    long delay = nextBackoffMs();
    lastError = why;
    lastErrorTime = Instant.now();
    setState(ControlPlaneStatus.DISCONNECTED);
    publish();
    LOG.log(
        attemptsSinceAnswer <= 1 ? Level.WARNING : Level.FINE,
        "xDS stream to {0} closed ({1}); serving the last config, reconnecting in {2} ms",
        new Object[] {target, why, delay});
    xdsThread.schedule(this::openStream, delay, TimeUnit.MILLISECONDS);
  }

  /** Envoy's jittered exponential backoff: uniform in [0, interval), interval doubling to max. */
  private long nextBackoffMs() {
    long interval = Math.max(1, backoffIntervalMs);
    backoffIntervalMs =
        interval < settings.backoffMaxMs() / 2 ? interval * 2 : settings.backoffMaxMs();
    return Math.min(ThreadLocalRandom.current().nextLong(interval), settings.backoffMaxMs());
  }

  private void send(String type) {
    send(type, null);
  }

  private void send(String type, Status error) {
    TypeState ts = types.get(type);
    DiscoveryRequest.Builder b =
        DiscoveryRequest.newBuilder()
            .setNode(node)
            .setTypeUrl(type)
            .setVersionInfo(ts.acceptedVersion)
            .setResponseNonce(ts.lastNonce)
            .addAllResourceNames(ts.names);
    if (error != null) {
      b.setErrorDetail(error);
    }
    try {
      requests.onNext(b.build());
    } catch (RuntimeException e) {
      LOG.log(Level.FINE, "xDS send failed", e);
    }
  }

  private synchronized void handle(Object which, DiscoveryResponse r) {
    if (which != current) {
      return;
    }
    if (!ControlPlaneStatus.CONNECTED.equals(connState)) {
      setState(ControlPlaneStatus.CONNECTED);
      attemptsSinceAnswer = 0;
    }
    // As Envoy: a message received resets the backoff.
    backoffIntervalMs = settings.backoffBaseMs();
    String type = r.getTypeUrl();
    TypeState ts = types.get(type);
    if (ts == null) {
      publish();
      return;
    }
    ts.lastNonce = r.getNonce();
    long t0 = System.nanoTime();
    Set<String> edsBefore = state.edsNames();
    Set<String> rdsBefore = state.rdsNames();
    try {
      if (type.equals(CDS) && r.getResourcesCount() > settings.clusterLimit()) {
        // Bounded memory: refuse rather than run out of heap; the previous clusters keep serving.
        throw new IllegalArgumentException(
            String.format(
                "CDS update has %,d clusters, more than this proxy holds (%,d with a %d MB heap,"
                    + " --max-clusters)",
                r.getResourcesCount(),
                settings.clusterLimit(),
                Runtime.getRuntime().maxMemory() >> 20));
      }
      switch (type) {
        case CDS ->
            state.applyClusters(unpack(r.getResourcesList(), Cluster.class), r.getVersionInfo());
        case EDS ->
            state.applyEndpoints(
                unpack(r.getResourcesList(), ClusterLoadAssignment.class), r.getVersionInfo());
        case LDS ->
            state.applyListeners(unpack(r.getResourcesList(), Listener.class), r.getVersionInfo());
        case RDS ->
            state.applyRoutes(
                unpack(r.getResourcesList(), RouteConfiguration.class), r.getVersionInfo());
        default -> {}
      }
    } catch (RuntimeException e) {
      ts.lastError = e.getMessage() == null ? e.toString() : e.getMessage();
      LOG.warning("NACK " + type + " version " + r.getVersionInfo() + ": " + ts.lastError);
      send(type, Status.newBuilder().setCode(3).setMessage(ts.lastError).build());
      publish();
      return;
    }
    ts.acceptedVersion = r.getVersionInfo();
    ts.lastError = null;
    ts.acked = true;
    send(type);
    lastAck = Instant.now();
    long ms = (System.nanoTime() - t0) / 1_000_000;
    LOG.log(
        ms >= 1_000 ? Level.INFO : Level.FINE,
        "{0} version {1}: {2} resources applied and ACKed in {3} ms",
        new Object[] {SHORT.get(type), r.getVersionInfo(), r.getResourcesCount(), ms});
    // Follow-up subscriptions, as Envoy: clusters drive EDS names, listeners drive RDS names.
    if (type.equals(CDS)) {
      Set<String> eds = state.edsNames();
      if (!eds.equals(types.get(EDS).names) || !eds.equals(edsBefore)) {
        types.get(EDS).names = new TreeSet<>(eds);
        send(EDS);
      }
    }
    if (type.equals(LDS)) {
      Set<String> rds = state.rdsNames();
      if (!rds.equals(types.get(RDS).names) || !rds.equals(rdsBefore)) {
        types.get(RDS).names = new TreeSet<>(rds);
        send(RDS);
      }
    }
    publish();
    checkReady();
  }

  private void checkReady() {
    if (ready) {
      return;
    }
    // Readiness is the initial fetch only (as Envoy): losing istiod later never makes it unready.
    boolean ok = types.get(CDS).acked && types.get(LDS).acked;
    if (ok) {
      ready = true;
      if (onFirstAck != null) {
        onFirstAck.run();
      }
    }
  }

  private static <T extends Message> List<T> unpack(List<Any> in, Class<T> type) {
    List<T> out = new ArrayList<>(in.size());
    for (Any a : in) {
      try {
        out.add(a.unpack(type));
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalArgumentException(
            "cannot unpack " + a.getTypeUrl() + ": " + e.getMessage());
      }
    }
    return out;
  }

  @Override
  public synchronized void close() {
    closed = true;
    current = null;
    if (requests != null) {
      try {
        requests.onCompleted();
      } catch (RuntimeException e) {
        // already gone
      }
    }
    if (channel != null) {
      channel.shutdownNow();
    }
    xdsThread.shutdownNow();
  }
}
