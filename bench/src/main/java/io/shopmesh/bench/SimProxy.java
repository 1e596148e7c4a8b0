package io.shopmesh.bench;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A simulated proxy: one gRPC ADS stream, subscribing as Envoy does (CDS and LDS wildcard, then EDS
 * for the EDS clusters and RDS for the route configs the listeners name) and ACKing every response.
 * It keeps only what the convergence measurement needs: per type, the last version and when it was
 * ACKed.
 */
final class SimProxy implements AutoCloseable {

  static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
  static final String RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
  static final String EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

  /** The last ACKed version of a type and the nanoTime the ACK was sent. */
  record Acked(String version, long nanos) {}

  private final ManagedChannel channel;
  private final StreamObserver<DiscoveryRequest> requests;
  private final Node node;
  private final Map<String, List<String>> subscribed = new ConcurrentHashMap<>();
  final Map<String, Acked> acked = new ConcurrentHashMap<>();
  volatile Throwable error;

  SimProxy(String ip, int port, Node node) {
    this.node = node;
    this.channel = NettyChannelBuilder.forAddress(ip, port).usePlaintext().build();
    this.requests =
        AggregatedDiscoveryServiceGrpc.newStub(channel)
            .streamAggregatedResources(
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
    subscribe(CDS, List.of(), "", "");
    subscribe(LDS, List.of(), "", "");
  }

  boolean synced() {
    return acked.keySet().containsAll(List.of(CDS, LDS, RDS, EDS));
  }

  Acked rds() {
    return acked.get(RDS);
  }

  private synchronized void subscribe(
      String type, List<String> names, String version, String nonce) {
    subscribed.put(type, names);
    requests.onNext(
        DiscoveryRequest.newBuilder()
            .setNode(node)
            .setTypeUrl(type)
            .addAllResourceNames(names)
            .setVersionInfo(version)
            .setResponseNonce(nonce)
            .build());
  }

  private synchronized void handle(DiscoveryResponse r) {
    String type = r.getTypeUrl();
    requests.onNext(
        DiscoveryRequest.newBuilder()
            .setNode(node)
            .setTypeUrl(type)
            .addAllResourceNames(subscribed.getOrDefault(type, List.of()))
            .setVersionInfo(r.getVersionInfo())
            .setResponseNonce(r.getNonce())
            .build());
    acked.put(type, new Acked(r.getVersionInfo(), System.nanoTime()));
    try {
      if (type.equals(CDS)) {
        TreeSet<String> eds = new TreeSet<>();
        for (Any a : r.getResourcesList()) {
          Cluster c = a.unpack(Cluster.class);
          if (c.getType() == Cluster.DiscoveryType.EDS) {
            eds.add(
                c.getEdsClusterConfig().getServiceName().isEmpty()
                    ? c.getName()
                    : c.getEdsClusterConfig().getServiceName());
          }
        }
        resubscribe(EDS, new ArrayList<>(eds));
      } else if (type.equals(LDS)) {
        TreeSet<String> rds = new TreeSet<>();
        for (Any a : r.getResourcesList()) {
          Listener l = a.unpack(Listener.class);
          for (FilterChain fc : l.getFilterChainsList()) {
            for (Filter f : fc.getFiltersList()) {
              if (f.getTypedConfig().is(HttpConnectionManager.class)) {
                HttpConnectionManager h = f.getTypedConfig().unpack(HttpConnectionManager.class);
                if (h.hasRds()) rds.add(h.getRds().getRouteConfigName());
              }
            }
          }
        }
        resubscribe(RDS, new ArrayList<>(rds));
      }
    } catch (InvalidProtocolBufferException e) {
      error = e;
    }
  }

  private void resubscribe(String type, List<String> names) {
    if (names.equals(subscribed.get(type))) return;
    Acked a = acked.get(type);
    subscribe(type, names, a == null ? "" : a.version(), "");
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
