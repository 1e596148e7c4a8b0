package io.shopmesh.mesh.simulation;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.shopmesh.mesh.wire.ListenerNames;
import io.shopmesh.mesh.wire.Wellknown;
import io.shopmesh.mesh.xds.XdsResources;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The harness on hand-built resources: listener choice, the filter chain sieve, routing. */
class SimulationTest {

  static final XdsResources RESOURCES =
      new XdsResources(
          List.of(
              listener("0.0.0.0", 443)
                  .addListenerFilters(
                      ListenerFilter.newBuilder()
                          .setName(Wellknown.TLS_INSPECTOR)
                          .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())))
                  .addFilterChains(
                      tcp("exact", FilterChainMatch.newBuilder().addServerNames("a.com")))
                  .addFilterChains(
                      tcp("wild", FilterChainMatch.newBuilder().addServerNames("*.b.com")))
                  .addFilterChains(tcp("any", FilterChainMatch.newBuilder()))
                  .build(),
              listener("0.0.0.0", 9999)
                  .addFilterChains(tcp("wide", cidr("10.0.0.0", 8)))
                  .addFilterChains(tcp("narrow", cidr("10.1.0.0", 16)))
                  .build(),
              listener("0.0.0.0", 80)
                  .addFilterChains(
                      FilterChain.newBuilder()
                          .addFilters(
                              Filter.newBuilder()
                                  .setName(Wellknown.HTTP_CONNECTION_MANAGER)
                                  .setTypedConfig(
                                      Any.pack(
                                          HttpConnectionManager.newBuilder()
                                              .setRds(Rds.newBuilder().setRouteConfigName("80"))
                                              .build()))))
                  .build(),
              listener("0.0.0.0", 15001)
                  .setName(ListenerNames.VIRTUAL_OUTBOUND)
                  .addFilterChains(tcp("catchall", FilterChainMatch.newBuilder()))
                  .build(),
              listener("0.0.0.0", 15006)
                  .setName(ListenerNames.VIRTUAL_INBOUND)
                  .addFilterChains(
                      tcp(
                          "inbound-8080",
                          FilterChainMatch.newBuilder().setDestinationPort(u32(8080))))
                  .build()),
          List.of(
              RouteConfiguration.newBuilder()
                  .setName("80")
                  .addVirtualHosts(
                      VirtualHost.newBuilder()
                          .setName("shop:80")
                          .addDomains("shop")
                          .addRoutes(
                              route("canary", "/")
                                  .setMatch(
                                      RouteMatch.newBuilder()
                                          .setPrefix("/")
                                          .addHeaders(
                                              HeaderMatcher.newBuilder()
                                                  .setName("x-canary")
                                                  .setStringMatch(
                                                      StringMatcher.newBuilder().setExact("1"))))
                                  .setRoute(
                                      RouteAction.newBuilder()
                                          .setWeightedClusters(
                                              WeightedCluster.newBuilder()
                                                  .addClusters(
                                                      WeightedCluster.ClusterWeight.newBuilder()
                                                          .setName("v1")
                                                          .setWeight(u32(50)))
                                                  .addClusters(
                                                      WeightedCluster.ClusterWeight.newBuilder()
                                                          .setName("v2")
                                                          .setWeight(u32(50))))))
                          .addRoutes(route("api", "/api").setRoute(cluster("api"))))
                  .addVirtualHosts(
                      VirtualHost.newBuilder()
                          .setName("secure:80")
                          .addDomains("secure")
                          .setRequireTls(VirtualHost.TlsRequirementType.ALL)
                          .addRoutes(route("all", "/").setRoute(cluster("secure"))))
                  .build()),
          List.of(),
          List.of());

  static Simulation.Call call(int port, String protocol, String tls, String host, String path) {
    return new Simulation.Call(null, port, path, protocol, tls, null, host, null, null, Map.of());
  }

  static Simulation.Result run(Simulation.Call c) {
    return new Simulation(RESOURCES).run(c);
  }

  @Test
  void serverNamesExactBeforeWildcardBeforeUnset() {
    assertThat(run(call(443, "tcp", "tls", "a.com", null)).filterChain()).isEqualTo("exact");
    assertThat(run(call(443, "tcp", "tls", "x.b.com", null)).filterChain()).isEqualTo("wild");
    assertThat(run(call(443, "tcp", "tls", "c.com", null)).filterChain()).isEqualTo("any");
  }

  @Test
  void longestDestinationPrefixWinsAndNoMatchIsNoChain() {
    Simulation.Call narrow =
        new Simulation.Call("10.1.2.3", 9999, null, "tcp", null, null, null, null, null, Map.of());
    Simulation.Call wide =
        new Simulation.Call("10.2.2.3", 9999, null, "tcp", null, null, null, null, null, Map.of());
    Simulation.Call none =
        new Simulation.Call(
            "192.168.0.1", 9999, null, "tcp", null, null, null, null, null, Map.of());
    assertThat(run(narrow).cluster()).isEqualTo("narrow");
    assertThat(run(wide).cluster()).isEqualTo("wide");
    assertThat(run(none).error()).isEqualTo(Simulation.ERR_NO_FILTER_CHAIN);
  }

  @Test
  void unknownPortFallsToVirtualOutboundAndInboundCallsToVirtualInbound() {
    Simulation.Result out = run(call(5555, "tcp", null, null, null));
    assertThat(out.listener()).isEqualTo(ListenerNames.VIRTUAL_OUTBOUND);
    assertThat(out.cluster()).isEqualTo("catchall");
    Simulation.Call in =
        new Simulation.Call(null, 8080, null, "tcp", null, null, null, null, "inbound", Map.of());
    assertThat(run(in).listener()).isEqualTo(ListenerNames.VIRTUAL_INBOUND);
    assertThat(run(in).cluster()).isEqualTo("inbound-8080");
  }

  @Test
  void routesThroughTheProxyRouteTable() {
    Simulation.Result api = run(call(80, "http", null, "shop", "/api/items"));
    assertThat(api.routeConfig()).isEqualTo("80");
    assertThat(api.virtualHost()).isEqualTo("shop:80");
    assertThat(api.route()).isEqualTo("api");
    assertThat(api.cluster()).isEqualTo("api");
    assertThat(run(call(80, "http", null, "shop", "/other")).error())
        .isEqualTo(Simulation.ERR_NO_ROUTE);
    assertThat(run(call(80, "http", null, "nobody", "/")).error())
        .isEqualTo(Simulation.ERR_NO_VIRTUAL_HOST);
    assertThat(run(call(80, "http", null, "secure", "/")).error())
        .isEqualTo(Simulation.ERR_TLS_REDIRECT);
    assertThat(run(call(80, "tcp", null, "shop", "/")).error()).isEqualTo(Simulation.ERR_PROTOCOL);
  }

  @Test
  void headerMatchedWeightedRouteReportsNoCluster() {
    Simulation.Call canary =
        new Simulation.Call(
            null, 80, "/", "http", null, null, "shop", null, null, Map.of("X-Canary", "1"));
    Simulation.Result r = run(canary);
    assertThat(r.route()).isEqualTo("canary");
    assertThat(r.cluster()).isEmpty();
    assertThat(new Simulation(RESOURCES).virtualHostClusters("80", "shop"))
        .containsExactly("", "api");
    assertThat(new Simulation(RESOURCES).virtualHostClusters("80", "other")).isNull();
  }

  private static Listener.Builder listener(String ip, int port) {
    return Listener.newBuilder()
        .setName(ip + "_" + port)
        .setAddress(
            Address.newBuilder()
                .setSocketAddress(
                    SocketAddress.newBuilder().setAddress(ip).setPortValue(port).build()));
  }

  private static FilterChain.Builder tcp(String name, FilterChainMatch.Builder match) {
    return FilterChain.newBuilder()
        .setName(name)
        .setFilterChainMatch(match)
        .addFilters(
            Filter.newBuilder()
                .setName(Wellknown.TCP_PROXY)
                .setTypedConfig(
                    Any.pack(TcpProxy.newBuilder().setStatPrefix(name).setCluster(name).build())));
  }

  private static FilterChainMatch.Builder cidr(String prefix, int len) {
    return FilterChainMatch.newBuilder()
        .addPrefixRanges(
            CidrRange.newBuilder().setAddressPrefix(prefix).setPrefixLen(u32(len)).build());
  }

  private static Route.Builder route(String name, String prefix) {
    return Route.newBuilder().setName(name).setMatch(RouteMatch.newBuilder().setPrefix(prefix));
  }

  private static RouteAction cluster(String name) {
    return RouteAction.newBuilder().setCluster(name).build();
  }

  private static UInt32Value u32(int v) {
    return UInt32Value.of(v);
  }
}
