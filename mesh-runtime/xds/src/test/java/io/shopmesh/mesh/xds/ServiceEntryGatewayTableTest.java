package io.shopmesh.mesh.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** ServiceEntry resolutions, gateways and the sidecar's own listeners. */
class ServiceEntryGatewayTableTest {

  static String serviceEntry(String resolution, String extra) {
    return """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata:
          name: ext
        spec:
          hosts: [api.example.com]
          location: MESH_EXTERNAL
          ports:
          - {number: 80, name: http, protocol: HTTP, targetPort: 8443}
          - {number: 443, name: https, protocol: HTTPS}
          resolution: %s
        %s"""
        .formatted(resolution, extra.indent(2));
  }

  @Test
  void dnsResolutionIsStrictDnsToTheHostAtTargetPort() {
    XdsResources r =
        XdsGenerator.generate(
            Fixtures.yaml(serviceEntry("DNS", "")),
            Fixtures.productPods(),
            Fixtures.frontendSidecar());
    Cluster c = r.cluster("outbound|80||api.example.com");
    assertThat(c.getType()).isEqualTo(Cluster.DiscoveryType.STRICT_DNS);
    var addr =
        c.getLoadAssignment()
            .getEndpoints(0)
            .getLbEndpoints(0)
            .getEndpoint()
            .getAddress()
            .getSocketAddress();
    assertThat(addr.getAddress() + ":" + addr.getPortValue()).isEqualTo("api.example.com:8443");
    assertThat(r.route("80").getVirtualHosts(0).getDomainsList())
        .containsExactly("api.example.com", "api.example.com.");
    // the HTTPS port is opaque TLS: SNI chain to tcp_proxy
    Listener l443 = r.listener("0.0.0.0_443");
    FilterChain fc = l443.getFilterChains(0);
    assertThat(fc.getFilterChainMatch().getServerNamesList()).containsExactly("api.example.com");
    assertThat(fc.getFilters(0).getName()).isEqualTo("envoy.filters.network.tcp_proxy");
  }

  @Test
  void staticResolutionServesTheEndpointsOverEds() {
    String eps =
        """
        endpoints:
        - {address: 127.0.3.1, ports: {http: 9080}, labels: {version: a}}
        - {address: 127.0.3.2}
        """;
    XdsResources r =
        XdsGenerator.generate(
            Fixtures.yaml(serviceEntry("STATIC", eps)),
            Fixtures.productPods(),
            Fixtures.frontendSidecar());
    assertThat(r.cluster("outbound|80||api.example.com").getType())
        .isEqualTo(Cluster.DiscoveryType.EDS);
    ClusterLoadAssignment cla = r.endpoints("outbound|80||api.example.com");
    assertThat(cla.getEndpoints(0).getLbEndpointsList())
        .extracting(
            e ->
                e.getEndpoint().getAddress().getSocketAddress().getAddress()
                    + ":"
                    + e.getEndpoint().getAddress().getSocketAddress().getPortValue())
        .containsExactly("127.0.3.1:9080", "127.0.3.2:8443");
    // endpoints outside the mesh: no tlsMode istio
    assertThat(
            cla.getEndpoints(0)
                .getLbEndpoints(0)
                .getMetadata()
                .containsFilterMetadata("envoy.transport_socket_match"))
        .isFalse();
  }

  @Test
  void noneResolutionIsOriginalDestination() {
    XdsResources r =
        XdsGenerator.generate(
            Fixtures.yaml(serviceEntry("NONE", "")),
            Fixtures.productPods(),
            Fixtures.frontendSidecar());
    Cluster c = r.cluster("outbound|80||api.example.com");
    assertThat(c.getType()).isEqualTo(Cluster.DiscoveryType.ORIGINAL_DST);
    assertThat(c.getLbPolicy()).isEqualTo(Cluster.LbPolicy.CLUSTER_PROVIDED);
  }

  static final String GATEWAY =
      """
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata:
        name: gw
      spec:
        selector: {istio: ingressgateway}
        servers:
        - port: {number: 80, name: http, protocol: HTTP}
          hosts: ["*.example.com"]
        - port: {number: 443, name: https, protocol: HTTPS}
          hosts: [shop.example.com]
          tls: {mode: SIMPLE, credentialName: shop-cert}
      """;

  static final String GW_VS =
      """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata:
        name: shop
      spec:
        hosts: [shop.example.com, other.org]
        gateways: [gw]
        http:
        - route: [{destination: {host: product-service}}]
      """;

  static ProxyNode router(Map<String, String> labels) {
    return ProxyNode.router(
        new WorkloadInstance(
            "istio-ingressgateway-0",
            "istio-system",
            "127.0.1.100",
            labels,
            "istio-ingressgateway",
            List.of(),
            false));
  }

  @Test
  void gatewayServersBecomeListenersThroughTheIngressService() {
    XdsResources r =
        XdsGenerator.generate(
            Fixtures.yaml(Fixtures.PRODUCT_SERVICE, GATEWAY, GW_VS),
            Fixtures.productPods(),
            router(Map.of("istio", "ingressgateway", "app", "istio-ingressgateway")));
    assertThat(r.listeners())
        .extracting(Listener::getName)
        .containsExactly("0.0.0.0_8080", "0.0.0.0_8443");
    RouteConfiguration http = r.route("http.8080");
    assertThat(http.getVirtualHostsList())
        .extracting(v -> v.getName())
        .containsExactly("shop.example.com:80");
    assertThat(http.getVirtualHosts(0).getDomainsList()).containsExactly("shop.example.com");
    assertThat(http.getIgnorePortInHostMatching()).isTrue();
    assertThat(http.getVirtualHosts(0).getRoutes(0).getRoute().getCluster())
        .isEqualTo("outbound|8080||product-service.default.svc.cluster.local");
    RouteConfiguration https = r.route("https.443.https.gw.default");
    assertThat(https).isNotNull();
    FilterChain tls = r.listener("0.0.0.0_8443").getFilterChains(0);
    assertThat(tls.getFilterChainMatch().getServerNamesList()).containsExactly("shop.example.com");
    assertThat(tls.getTransportSocket().getName()).isEqualTo("envoy.transport_sockets.tls");
  }

  @Test
  void aGatewayNotSelectingThisRouterGivesNoListener() {
    XdsResources r =
        XdsGenerator.generate(
            Fixtures.yaml(Fixtures.PRODUCT_SERVICE, GATEWAY, GW_VS),
            Fixtures.productPods(),
            router(Map.of("istio", "egressgateway", "app", "istio-egressgateway")));
    assertThat(r.listeners()).isEmpty();
  }

  @Test
  void withoutTheIngressServiceTheServerPortIsTheListenerPort() {
    XdsResources r =
        XdsGenerator.generate(
            Fixtures.yaml(Fixtures.PRODUCT_SERVICE, GATEWAY, GW_VS),
            Fixtures.productPods(),
            router(Map.of("istio", "ingressgateway")));
    assertThat(r.listeners())
        .extracting(Listener::getName)
        .containsExactly("0.0.0.0_80", "0.0.0.0_443");
    assertThat(r.route("http.80")).isNotNull();
  }

  @Test
  void noBoundVirtualServiceGivesABlackholeVirtualHost() {
    XdsResources r =
        XdsGenerator.generate(
            Fixtures.yaml(Fixtures.PRODUCT_SERVICE, GATEWAY),
            Fixtures.productPods(),
            router(Map.of("istio", "ingressgateway", "app", "istio-ingressgateway")));
    var vh = r.route("http.8080").getVirtualHosts(0);
    assertThat(vh.getName()).isEqualTo("blackhole:80");
    assertThat(vh.getDomainsList()).containsExactly("*");
    // no routes: Envoy answers 404 with response flag NR, as Istio's default vhost
    assertThat(vh.getRoutesList()).isEmpty();
  }

  @Test
  void sidecarInboundPerDestinationPort() {
    XdsResources r =
        XdsGenerator.generate(
            Fixtures.yaml(Fixtures.PRODUCT_SERVICE),
            Fixtures.productPods(),
            ProxyNode.sidecar(Fixtures.productPods().workloads().get(1)));
    Listener in = r.listener("virtualInbound");
    assertThat(in.getAddress().getSocketAddress().getPortValue()).isEqualTo(15006);
    FilterChain fc =
        in.getFilterChainsList().stream()
            .filter(f -> f.getName().equals("0.0.0.0_8080"))
            .findFirst()
            .orElseThrow();
    assertThat(fc.getFilterChainMatch().getDestinationPort().getValue()).isEqualTo(8080);
    Cluster inbound = r.cluster("inbound|8080||");
    assertThat(inbound.getType()).isEqualTo(Cluster.DiscoveryType.STATIC);
    var addr =
        inbound
            .getLoadAssignment()
            .getEndpoints(0)
            .getLbEndpoints(0)
            .getEndpoint()
            .getAddress()
            .getSocketAddress();
    assertThat(addr.getAddress() + ":" + addr.getPortValue()).isEqualTo("127.0.1.5:8080");
    assertThat(r.listener("virtualOutbound").getAddress().getSocketAddress().getPortValue())
        .isEqualTo(15001);
    assertThat(r.listener("0.0.0.0_8080").getBindToPort().getValue()).isFalse();
    assertThat(r.cluster("BlackHoleCluster")).isNotNull();
    assertThat(r.cluster("PassthroughCluster").getType())
        .isEqualTo(Cluster.DiscoveryType.ORIGINAL_DST);
  }

  @Test
  void nodeMetadataRoundTrips() {
    ProxyNode p = Fixtures.frontendSidecar();
    ProxyNode back = ProxyNode.fromNode(p.toNode());
    assertThat(back).isEqualTo(p);
    assertThat(back.id())
        .isEqualTo("sidecar~127.0.1.1~frontend-0.default~default.svc.cluster.local");
  }
}
