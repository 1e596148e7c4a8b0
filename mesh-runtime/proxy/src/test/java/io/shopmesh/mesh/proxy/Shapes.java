package io.shopmesh.mesh.proxy;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.Duration;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import java.util.ArrayList;
import java.util.List;

/** Envoy resources shaped as Istio's translation makes them (names, metadata, policies). */
public final class Shapes {
  public static final String SUFFIX = ".default.svc.cluster.local";

  private Shapes() {}

  public static String outbound(int port, String subset, String host) {
    return "outbound|" + port + "|" + subset + "|" + host;
  }

  public static Cluster edsCluster(String name, String svcHost, String svcName) {
    Struct svc =
        Struct.newBuilder()
            .putFields("host", str(svcHost))
            .putFields("name", str(svcName))
            .putFields("namespace", str("default"))
            .build();
    return Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(
            Cluster.EdsClusterConfig.newBuilder()
                .setServiceName(name)
                .setEdsConfig(
                    ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance())))
        .setConnectTimeout(Duration.newBuilder().setSeconds(10))
        .setLbPolicy(Cluster.LbPolicy.LEAST_REQUEST)
        .setCircuitBreakers(
            CircuitBreakers.newBuilder()
                .addThresholds(
                    CircuitBreakers.Thresholds.newBuilder()
                        .setMaxConnections(UInt32Value.of(-1))
                        .setMaxPendingRequests(UInt32Value.of(-1))
                        .setMaxRequests(UInt32Value.of(-1))
                        .setMaxRetries(UInt32Value.of(-1))))
        .setMetadata(
            Metadata.newBuilder()
                .putFilterMetadata(
                    "istio",
                    Struct.newBuilder()
                        .putFields(
                            "services",
                            Value.newBuilder()
                                .setListValue(
                                    ListValue.newBuilder()
                                        .addValues(Value.newBuilder().setStructValue(svc)))
                                .build())
                        .build()))
        .build();
  }

  public static Cluster staticCluster(String name, String ip, int port) {
    return Cluster.newBuilder()
        .setName(name)
        .setType(Cluster.DiscoveryType.STATIC)
        .setConnectTimeout(Duration.newBuilder().setSeconds(10))
        .setLoadAssignment(
            ClusterLoadAssignment.newBuilder()
                .setClusterName(name)
                .addEndpoints(
                    LocalityLbEndpoints.newBuilder()
                        .addLbEndpoints(lbEndpoint(ip, port, false, null))))
        .build();
  }

  /** inbound|PORT|| to the local app, with the service metadata Istio puts on it. */
  public static Cluster inboundCluster(int port, String appIp, int appPort, String svcShort) {
    Cluster eds = edsCluster("x", svcShort + SUFFIX, svcShort);
    return staticCluster("inbound|" + port + "||", appIp, appPort).toBuilder()
        .setMetadata(eds.getMetadata())
        .build();
  }

  public static Cluster passthrough() {
    return Cluster.newBuilder()
        .setName("PassthroughCluster")
        .setType(Cluster.DiscoveryType.ORIGINAL_DST)
        .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED)
        .build();
  }

  public static Cluster blackhole() {
    return Cluster.newBuilder()
        .setName("BlackHoleCluster")
        .setType(Cluster.DiscoveryType.STATIC)
        .build();
  }

  /**
   * Endpoints; {@code sidecar} adds Istio's tlsMode metadata; workload "name;ns;canon;rev;cluster".
   */
  public static ClusterLoadAssignment cla(
      String cluster, boolean sidecar, String workload, String... hostPorts) {
    LocalityLbEndpoints.Builder l = LocalityLbEndpoints.newBuilder();
    for (String hp : hostPorts) {
      int c = hp.lastIndexOf(':');
      l.addLbEndpoints(
          lbEndpoint(hp.substring(0, c), Integer.parseInt(hp.substring(c + 1)), sidecar, workload));
    }
    return ClusterLoadAssignment.newBuilder().setClusterName(cluster).addEndpoints(l).build();
  }

  static LbEndpoint lbEndpoint(String ip, int port, boolean sidecar, String workload) {
    LbEndpoint.Builder b =
        LbEndpoint.newBuilder()
            .setEndpoint(
                Endpoint.newBuilder()
                    .setAddress(
                        Address.newBuilder()
                            .setSocketAddress(
                                SocketAddress.newBuilder().setAddress(ip).setPortValue(port))));
    Metadata.Builder md = Metadata.newBuilder();
    if (sidecar) {
      md.putFilterMetadata(
          "envoy.transport_socket_match",
          Struct.newBuilder().putFields("tlsMode", str("istio")).build());
    }
    if (workload != null) {
      md.putFilterMetadata(
          "istio", Struct.newBuilder().putFields("workload", str(workload)).build());
    }
    return b.setMetadata(md).setLoadBalancingWeight(UInt32Value.of(1)).build();
  }

  /** Istio's retry policy translation of a VirtualService HTTPRetry. */
  public static RetryPolicy retry(int attempts, long perTryMs, String retryOn) {
    RetryPolicy.Builder b =
        RetryPolicy.newBuilder()
            .setRetryOn(retryOn)
            .setNumRetries(UInt32Value.of(attempts))
            .addRetryHostPredicate(
                RetryPolicy.RetryHostPredicate.newBuilder()
                    .setName("envoy.retry_host_predicates.previous_hosts")
                    .setTypedConfig(
                        Any.pack(
                            io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3
                                .PreviousHostsPredicate.getDefaultInstance())))
            .setHostSelectionRetryMaxAttempts(5)
            .addRetriableStatusCodes(503);
    if (perTryMs > 0) {
      b.setPerTryTimeout(ms(perTryMs));
    }
    return b.build();
  }

  public static Duration ms(long ms) {
    return Duration.newBuilder()
        .setSeconds(ms / 1000)
        .setNanos((int) (ms % 1000) * 1_000_000)
        .build();
  }

  public static Route route(String name, RouteMatch match, RouteAction action) {
    return Route.newBuilder().setName(name).setMatch(match).setRoute(action).build();
  }

  public static RouteMatch prefix(String p) {
    return RouteMatch.newBuilder().setPrefix(p).build();
  }

  public static RouteAction.Builder toCluster(String cluster, long timeoutMs) {
    return RouteAction.newBuilder().setCluster(cluster).setTimeout(ms(timeoutMs));
  }

  public static RouteAction.Builder weighted(long timeoutMs, Object... clusterWeights) {
    WeightedCluster.Builder w = WeightedCluster.newBuilder();
    for (int i = 0; i < clusterWeights.length; i += 2) {
      w.addClusters(
          WeightedCluster.ClusterWeight.newBuilder()
              .setName((String) clusterWeights[i])
              .setWeight(UInt32Value.of((Integer) clusterWeights[i + 1])));
    }
    return RouteAction.newBuilder().setWeightedClusters(w).setTimeout(ms(timeoutMs));
  }

  /**
   * Istio's sidecar virtual host for a service: name host:port, short and long domains without a
   * port (the route config ignores the port when matching).
   */
  public static VirtualHost serviceVhost(String shortName, int port, Route... routes) {
    String fqdn = shortName + SUFFIX;
    return VirtualHost.newBuilder()
        .setName(fqdn + ":" + port)
        .addDomains(fqdn)
        .addDomains(fqdn + ".")
        .addDomains(shortName)
        .addDomains(shortName + ".default.svc")
        .addDomains(shortName + ".default")
        .addAllRoutes(List.of(routes))
        .setIncludeRequestAttemptCount(true)
        .build();
  }

  public static RouteConfiguration routeConfig(String name, VirtualHost... vhosts) {
    return RouteConfiguration.newBuilder()
        .setName(name)
        .addAllVirtualHosts(List.of(vhosts))
        .setValidateClusters(BoolValue.of(false))
        .setIgnorePortInHostMatching(true)
        .build();
  }

  public static HttpConnectionManager hcmRds(String rds, String statPrefix) {
    return HttpConnectionManager.newBuilder()
        .setStatPrefix(statPrefix)
        .setRds(
            Rds.newBuilder()
                .setRouteConfigName(rds)
                .setConfigSource(
                    ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance())))
        .build();
  }

  public static Listener listener(String name, String ip, int port, HttpConnectionManager hcm) {
    return Listener.newBuilder()
        .setName(name)
        .setAddress(
            Address.newBuilder()
                .setSocketAddress(SocketAddress.newBuilder().setAddress(ip).setPortValue(port)))
        .addFilterChains(
            FilterChain.newBuilder()
                .addFilters(
                    Filter.newBuilder()
                        .setName("envoy.filters.network.http_connection_manager")
                        .setTypedConfig(Any.pack(hcm))))
        .build();
  }

  /** Istio's virtualInbound: one chain per port, inline route to inbound|PORT||. */
  public static Listener virtualInbound(int... ports) {
    Listener.Builder l =
        Listener.newBuilder()
            .setName("virtualInbound")
            .setAddress(
                Address.newBuilder()
                    .setSocketAddress(
                        SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(15006)));
    for (int p : ports) {
      String c = "inbound|" + p + "||";
      RouteConfiguration rc =
          RouteConfiguration.newBuilder()
              .setName(c)
              .addVirtualHosts(
                  VirtualHost.newBuilder()
                      .setName("inbound|http|" + p)
                      .addDomains("*")
                      .addRoutes(
                          Route.newBuilder()
                              .setName("default")
                              .setMatch(prefix("/"))
                              .setRoute(RouteAction.newBuilder().setCluster(c).setTimeout(ms(0)))))
              .build();
      HttpConnectionManager hcm =
          HttpConnectionManager.newBuilder().setStatPrefix(c).setRouteConfig(rc).build();
      l.addFilterChains(
          FilterChain.newBuilder()
              .setName("0.0.0.0_" + p)
              .setFilterChainMatch(
                  FilterChainMatch.newBuilder()
                      .setDestinationPort(UInt32Value.of(p))
                      .setTransportProtocol("raw_buffer"))
              .addFilters(
                  Filter.newBuilder()
                      .setName("envoy.filters.network.http_connection_manager")
                      .setTypedConfig(Any.pack(hcm))));
    }
    return l.build();
  }

  static Value str(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  public static <T> List<T> list(List<T> a, T... more) {
    List<T> out = new ArrayList<>(a);
    out.addAll(List.of(more));
    return out;
  }
}
