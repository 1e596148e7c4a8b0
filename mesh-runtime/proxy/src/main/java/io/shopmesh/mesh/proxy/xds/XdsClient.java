package io.shopmesh.mesh.proxy.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
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
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * while keeping the previous config; reconnect with jittered backoff, serving the last good config.
 */
public final class XdsClient implements AutoCloseable {
  public static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  public static final String EDS =
      "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
  public static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
  public static final String RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
  private static final Logger LOG = Logger.getLogger(XdsClient.class.getName());

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
  private final Map<String, TypeState> types = new HashMap<>();
  private final ScheduledExecutorService scheduler =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "xds-client");
            t.setDaemon(true);
            return t;
          });
  private ManagedChannel channel;
  private StreamObserver<DiscoveryRequest> requests;
  private int failures;
  private boolean closed;
  private boolean ready;

  public XdsClient(String target, Node node, XdsState state, Runnable onReady) {
    this.target = target;
    this.node = node;
    this.state = state;
    this.onFirstAck = onReady;
    for (String t : List.of(CDS, EDS, LDS, RDS)) {
      types.put(t, new TypeState());
    }
  }

  public synchronized void start() {
    channel =
        NettyChannelBuilder.forTarget(target)
            .usePlaintext()
            .keepAliveTime(30, TimeUnit.SECONDS)
            .build();
    openStream();
  }

  public synchronized Map<String, String> status() {
    Map<String, String> out = new HashMap<>();
    types.forEach(
        (k, v) ->
            out.put(
                k,
                v.acceptedVersion + (v.lastError != null ? " (NACK: " + v.lastError + ")" : "")));
    return out;
  }

  private synchronized void openStream() {
    if (closed) {
      return;
    }
    StreamObserver<DiscoveryResponse> responses =
        new StreamObserver<>() {
          private volatile boolean gotResponse;

          @Override
          public void onNext(DiscoveryResponse r) {
            gotResponse = true;
            handle(this, r);
          }

          @Override
          public void onError(Throwable t) {
            streamClosed(this, gotResponse, t.toString());
          }

          @Override
          public void onCompleted() {
            streamClosed(this, gotResponse, "stream completed");
          }
        };
    current = responses;
    requests = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(responses);
    for (TypeState ts : types.values()) {
      ts.lastNonce = "";
    }
    // Envoy's order: CDS and LDS as wildcards, then EDS/RDS for names already known.
    send(CDS);
    send(LDS);
    if (!types.get(EDS).names.isEmpty()) {
      send(EDS);
    }
    if (!types.get(RDS).names.isEmpty()) {
      send(RDS);
    }
  }

  private Object current;

  private synchronized void streamClosed(Object which, boolean gotResponse, String why) {
    if (which != current || closed) {
      return;
    }
    current = null;
    if (gotResponse) {
      failures = 0;
    }
    failures++;
    // Jittered exponential backoff: base 500 ms, max 4 s (a local istiod restarts quickly; Envoy's
    // own cap is 30 s).
    long ceiling = Math.min(4_000L, 500L * (1L << Math.min(5, failures - 1)));
    long delay = ceiling / 2 + ThreadLocalRandom.current().nextLong(ceiling / 2 + 1);
    LOG.log(
        Level.FINE,
        "xDS stream to {0} closed ({1}); reconnecting in {2} ms",
        new Object[] {target, why, delay});
    scheduler.schedule(this::openStream, delay, TimeUnit.MILLISECONDS);
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
    String type = r.getTypeUrl();
    TypeState ts = types.get(type);
    if (ts == null) {
      return;
    }
    ts.lastNonce = r.getNonce();
    Set<String> edsBefore = state.edsNames();
    Set<String> rdsBefore = state.rdsNames();
    try {
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
      return;
    }
    ts.acceptedVersion = r.getVersionInfo();
    ts.lastError = null;
    ts.acked = true;
    send(type);
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
    checkReady();
  }

  private void checkReady() {
    if (ready) {
      return;
    }
    boolean ok = types.get(CDS).acked && types.get(LDS).acked;
    if (ok) {
      ready = true;
      if (onFirstAck != null) {
        onFirstAck.run();
      }
    }
  }

  private static <T extends com.google.protobuf.Message> List<T> unpack(
      List<Any> in, Class<T> type) {
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
    scheduler.shutdownNow();
  }
}
