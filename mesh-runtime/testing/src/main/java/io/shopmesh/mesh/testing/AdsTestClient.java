package io.shopmesh.mesh.testing;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.Status;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A minimal Envoy-like ADS client on the generated gRPC stubs: subscribes CDS and LDS (wildcard),
 * then EDS for the EDS clusters and RDS for the route configs the listeners name, ACKs every
 * response (or NACKs one on request), and records what arrives. istiod's tests use it as a proxy
 * they can inspect; bench uses many of them, without history, as simulated proxies.
 */
public final class AdsTestClient implements AutoCloseable {

  /**
   * One response as received; {@code nanos} is when it arrived (the ACK follows at once), {@code
   * resources} is empty for a client without history.
   */
  public record Received(
      String type, String version, String nonce, long nanos, List<Any> resources) {}

  private final ManagedChannel channel;
  private final StreamObserver<DiscoveryRequest> requests;
  private final Node node;
  private final boolean history;

  /** Every response in arrival order, NACKed ones included (empty without history). */
  public final LinkedBlockingQueue<Received> received = new LinkedBlockingQueue<>();

  /** The last accepted response by short type (CDS, EDS, LDS, RDS). */
  public final Map<String, Received> latest = new ConcurrentHashMap<>();

  private final Map<String, List<String>> subscribed = new ConcurrentHashMap<>();
  private final Map<String, String> acked = new ConcurrentHashMap<>();
  private final Map<String, String> nonces = new ConcurrentHashMap<>();

  /** The short type (e.g. "RDS") of the next response to NACK instead of ACK. */
  public volatile String nackNext;

  public volatile Throwable error;

  /** A client of the ADS server on 127.0.0.1:{@code port}, as the proxy {@code node}. */
  public AdsTestClient(int port, Node node) {
    this(port, node, Map.of());
  }

  /**
   * @param versions the versions a reconnecting proxy already has, by type URL
   */
  public AdsTestClient(int port, Node node, Map<String, String> versions) {
    this("127.0.0.1", port, node, versions, true);
  }

  /**
   * @param history whether to keep every response and its resources ({@link #received}, {@link
   *     #route}, {@link #endpoints}); without, only the type, version and arrival time of the last
   */
  public AdsTestClient(
      String host, int port, Node node, Map<String, String> versions, boolean history) {
    this(host, port, node, versions, history, null);
  }

  /** As above, presenting {@code authorization: Bearer token} to istiod (none when null). */
  public AdsTestClient(
      String host,
      int port,
      Node node,
      Map<String, String> versions,
      boolean history,
      String token) {
    this.node = node;
    this.history = history;
    channel = NettyChannelBuilder.forAddress(host, port).usePlaintext().build();
    AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub stub =
        AggregatedDiscoveryServiceGrpc.newStub(channel);
    if (token != null) {
      Metadata md = new Metadata();
      md.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
      stub = stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
    }
    requests =
        stub.streamAggregatedResources(
            new StreamObserver<>() {
              @Override
              public void onNext(DiscoveryResponse r) {
                handle(r);
              }

              @Override
              public void onError(Throwable t) {
                error = t;
              }

              @Override
              public void onCompleted() {}
            });
    subscribe(
        Resources.V3.CLUSTER_TYPE_URL,
        List.of(),
        versions.getOrDefault(Resources.V3.CLUSTER_TYPE_URL, ""),
        "");
    subscribe(
        Resources.V3.LISTENER_TYPE_URL,
        List.of(),
        versions.getOrDefault(Resources.V3.LISTENER_TYPE_URL, ""),
        "");
  }

  private synchronized void subscribe(
      String type, List<String> names, String version, String nonce) {
    subscribed.put(type, names);
    send(
        DiscoveryRequest.newBuilder()
            .setNode(node)
            .setTypeUrl(type)
            .addAllResourceNames(names)
            .setVersionInfo(version)
            .setResponseNonce(nonce)
            .build());
  }

  private synchronized void send(DiscoveryRequest r) {
    requests.onNext(r);
  }

  private void handle(DiscoveryResponse r) {
    String type = shortType(r.getTypeUrl());
    Received rec =
        new Received(
            type,
            r.getVersionInfo(),
            r.getNonce(),
            System.nanoTime(),
            history ? r.getResourcesList() : List.of());
    nonces.put(r.getTypeUrl(), r.getNonce());
    if (type.equals(nackNext)) {
      nackNext = null;
      record(rec);
      send(
          DiscoveryRequest.newBuilder()
              .setNode(node)
              .setTypeUrl(r.getTypeUrl())
              .addAllResourceNames(subscribed.getOrDefault(r.getTypeUrl(), List.of()))
              .setVersionInfo(acked.getOrDefault(r.getTypeUrl(), ""))
              .setResponseNonce(r.getNonce())
              .setErrorDetail(
                  Status.newBuilder().setCode(3).setMessage("test rejects this " + type))
              .build());
      return;
    }
    latest.put(type, rec);
    record(rec);
    acked.put(r.getTypeUrl(), r.getVersionInfo());
    send(
        DiscoveryRequest.newBuilder()
            .setNode(node)
            .setTypeUrl(r.getTypeUrl())
            .addAllResourceNames(subscribed.getOrDefault(r.getTypeUrl(), List.of()))
            .setVersionInfo(r.getVersionInfo())
            .setResponseNonce(r.getNonce())
            .build());
    try {
      if (type.equals("CDS")) {
        TreeSet<String> eds = new TreeSet<>();
        for (Any a : r.getResourcesList()) {
          Cluster c = a.unpack(Cluster.class);
          if (c.getType() == Cluster.DiscoveryType.EDS) {
            // EDS is asked for by the cluster's service name when it has one, as Envoy does
            String service = c.getEdsClusterConfig().getServiceName();
            eds.add(service.isEmpty() ? c.getName() : service);
          }
        }
        List<String> names = new ArrayList<>(eds);
        if (!names.equals(subscribed.get(Resources.V3.ENDPOINT_TYPE_URL))) {
          subscribe(
              Resources.V3.ENDPOINT_TYPE_URL,
              names,
              acked.getOrDefault(Resources.V3.ENDPOINT_TYPE_URL, ""),
              nonces.getOrDefault(Resources.V3.ENDPOINT_TYPE_URL, ""));
        }
      } else if (type.equals("LDS")) {
        TreeSet<String> rds = new TreeSet<>();
        for (Any a : r.getResourcesList()) {
          Listener l = a.unpack(Listener.class);
          for (FilterChain fc : l.getFilterChainsList()) {
            for (Filter f : fc.getFiltersList()) {
              if (f.getTypedConfig().is(HttpConnectionManager.class)) {
                HttpConnectionManager h = f.getTypedConfig().unpack(HttpConnectionManager.class);
                if (h.hasRds()) {
                  rds.add(h.getRds().getRouteConfigName());
                }
              }
            }
          }
        }
        List<String> names = new ArrayList<>(rds);
        if (!names.equals(subscribed.get(Resources.V3.ROUTE_TYPE_URL))) {
          subscribe(
              Resources.V3.ROUTE_TYPE_URL,
              names,
              acked.getOrDefault(Resources.V3.ROUTE_TYPE_URL, ""),
              nonces.getOrDefault(Resources.V3.ROUTE_TYPE_URL, ""));
        }
      }
    } catch (InvalidProtocolBufferException e) {
      error = e;
    }
  }

  private void record(Received rec) {
    if (history) {
      received.add(rec);
    }
  }

  /** "CDS" for the Cluster type URL, and so on; other types by their URL. */
  static String shortType(String typeUrl) {
    return switch (typeUrl) {
      case Resources.V3.CLUSTER_TYPE_URL -> "CDS";
      case Resources.V3.ENDPOINT_TYPE_URL -> "EDS";
      case Resources.V3.LISTENER_TYPE_URL -> "LDS";
      case Resources.V3.ROUTE_TYPE_URL -> "RDS";
      default -> typeUrl;
    };
  }

  /** Whether a response of each of CDS, EDS, LDS and RDS was accepted. */
  public boolean hasAll() {
    return latest.keySet().containsAll(List.of("CDS", "EDS", "LDS", "RDS"));
  }

  /** The route config of that name in the last accepted RDS response, or null. */
  public RouteConfiguration route(String name) throws InvalidProtocolBufferException {
    Received r = latest.get("RDS");
    if (r == null) {
      return null;
    }
    for (Any a : r.resources()) {
      RouteConfiguration rc = a.unpack(RouteConfiguration.class);
      if (rc.getName().equals(name)) {
        return rc;
      }
    }
    return null;
  }

  /** The load assignment of that cluster in the last accepted EDS response, or null. */
  public ClusterLoadAssignment endpoints(String cluster) throws InvalidProtocolBufferException {
    Received r = latest.get("EDS");
    if (r == null) {
      return null;
    }
    for (Any a : r.resources()) {
      ClusterLoadAssignment c = a.unpack(ClusterLoadAssignment.class);
      if (c.getClusterName().equals(cluster)) {
        return c;
      }
    }
    return null;
  }

  /** Waits (bounded) for the next response of a type. */
  public Received next(String type, long timeoutMillis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    while (true) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return null;
      }
      Received r = received.poll(left, TimeUnit.NANOSECONDS);
      if (r == null) {
        return null;
      }
      if (r.type().equals(type)) {
        return r;
      }
    }
  }

  @Override
  public void close() {
    try {
      requests.onCompleted();
    } catch (RuntimeException e) {
      // already closed
    }
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
