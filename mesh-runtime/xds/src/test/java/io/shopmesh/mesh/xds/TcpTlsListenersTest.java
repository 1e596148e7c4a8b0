package io.shopmesh.mesh.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.shopmesh.mesh.config.MeshConfig;
import io.shopmesh.mesh.config.MeshSettings;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The sidecar's TCP and TLS outbound listeners as Istio builds them: listeners on service
 * addresses, VirtualService tcp and tls routes, the passthrough default chain and the mesh's
 * outbound traffic policy.
 */
class TcpTlsListenersTest {

  private static final String DB =
      """
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata:
        name: db
      spec:
        hosts: [db.example.com]
        addresses: [10.9.0.1]
        location: MESH_EXTERNAL
        resolution: DNS
        ports:
        - {number: 5432, name: tcp-pg, protocol: TCP}
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata:
        name: db-replica
      spec:
        hosts: [replica.example.com]
        location: MESH_EXTERNAL
        resolution: DNS_ROUND_ROBIN
        ports:
        - {number: 5432, name: tcp-pg, protocol: TCP}
      """;

  private static XdsResources generate(MeshSettings mesh, String... docs) {
    MeshConfig config = Fixtures.yaml(docs);
    return XdsGenerator.generate(
        new PushContext(config, mesh), Fixtures.productPods(), Fixtures.frontendSidecar());
  }

  private static TcpProxy tcp(FilterChain fc) {
    try {
      return fc.getFilters(0).getTypedConfig().unpack(TcpProxy.class);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aTcpServiceWithAnAddressListensOnItAndWeightedTcpRoutesSplit() {
    String vs =
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: db-split
        spec:
          hosts: [db.example.com]
          tcp:
          - route:
            - destination: {host: db.example.com}
              weight: 90
            - destination: {host: replica.example.com}
              weight: 10
            - destination: {host: replica.example.com, port: {number: 6432}}
              weight: 0
        """;
    XdsResources r = generate(MeshSettings.DEFAULT, DB, vs);
    Listener vip = r.listener("10.9.0.1_5432");
    assertThat(vip.getAddress().getSocketAddress().getAddress()).isEqualTo("10.9.0.1");
    assertThat(vip.getFilterChainsCount()).isEqualTo(1);
    assertThat(vip.hasDefaultFilterChain()).isFalse();
    TcpProxy split = tcp(vip.getFilterChains(0));
    assertThat(split.getStatPrefix()).isEqualTo("db-split.default");
    assertThat(split.getWeightedClusters().getClustersList())
        .extracting(c -> c.getName() + "=" + c.getWeight())
        .containsExactly(
            "outbound|5432||db.example.com=90", "outbound|5432||replica.example.com=10");
    // the service without an address takes the wildcard listener of the port, to its own cluster
    Listener any = r.listener("0.0.0.0_5432");
    assertThat(tcp(any.getFilterChains(0)).getCluster())
        .isEqualTo("outbound|5432||replica.example.com");
    // DNS_ROUND_ROBIN is Envoy's LOGICAL_DNS, DNS its STRICT_DNS (Istio's cluster.go)
    assertThat(r.cluster("outbound|5432||replica.example.com").getType())
        .isEqualTo(Cluster.DiscoveryType.LOGICAL_DNS);
    assertThat(r.cluster("outbound|5432||db.example.com").getType())
        .isEqualTo(Cluster.DiscoveryType.STRICT_DNS);
  }

  @Test
  void tcpRoutesMatchDestinationSubnetsAndOnlyTheRulesThatSelectTheProxy() {
    String vs =
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: db-subnets
        spec:
          hosts: [replica.example.com]
          tcp:
          - match:
            - sourceLabels: {app: other}
            route:
            - destination: {host: db.example.com}
          - match:
            - destinationSubnets: [10.10.0.0/16]
            route:
            - destination: {host: db.example.com}
        """;
    XdsResources r = generate(MeshSettings.DEFAULT, DB, vs);
    Listener l = r.listener("0.0.0.0_5432");
    // the sourceLabels rule selects no frontend: not built; the subnet rule is a prefix chain,
    // the service's own chain the default
    assertThat(l.getFilterChainsCount()).isEqualTo(1);
    FilterChain subnet = l.getFilterChains(0);
    assertThat(subnet.getFilterChainMatch().getPrefixRanges(0).getAddressPrefix())
        .isEqualTo("10.10.0.0");
    assertThat(subnet.getFilterChainMatch().getPrefixRanges(0).getPrefixLen().getValue())
        .isEqualTo(16);
    assertThat(tcp(subnet).getCluster()).isEqualTo("outbound|5432||db.example.com");
    assertThat(tcp(l.getDefaultFilterChain()).getCluster())
        .isEqualTo("outbound|5432||replica.example.com");
  }

  @Test
  void tlsRoutesMatchSniAndUnknownSniPassesThroughOrIsBlocked() {
    String tls =
        """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata:
          name: apis
        spec:
          hosts: [a.example.com, b.example.com]
          location: MESH_EXTERNAL
          resolution: DNS
          ports:
          - {number: 9443, name: tls, protocol: TLS}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: a-to-b
        spec:
          hosts: [a.example.com]
          tls:
          - match:
            - sniHosts: [a.example.com]
            route:
            - destination: {host: b.example.com}
        """;
    for (MeshSettings mesh :
        List.of(
            MeshSettings.DEFAULT,
            MeshSettings.parse("outboundTrafficPolicy: {mode: REGISTRY_ONLY}"))) {
      XdsResources r = generate(mesh, tls);
      Listener l = r.listener("0.0.0.0_9443");
      assertThat(l.getListenerFilters(0).getName())
          .isEqualTo("envoy.filters.listener.tls_inspector");
      assertThat(l.getFilterChainsList())
          .extracting(
              fc -> fc.getFilterChainMatch().getServerNamesList() + "->" + tcp(fc).getCluster())
          .containsExactly(
              "[a.example.com]->outbound|9443||b.example.com",
              "[b.example.com]->outbound|9443||b.example.com");
      String catchAll = mesh.allowAny() ? "PassthroughCluster" : "BlackHoleCluster";
      assertThat(l.getDefaultFilterChain().getName()).isEqualTo("PassthroughFilterChain");
      assertThat(tcp(l.getDefaultFilterChain()).getCluster()).isEqualTo(catchAll);
      Listener outbound = r.listener("virtualOutbound");
      assertThat(tcp(outbound.getFilterChains(1)).getCluster()).isEqualTo(catchAll);
    }
  }

  @Test
  void registryOnlyAnswersUnknownHostsWith502FromBlockAll() {
    XdsResources r =
        generate(
            MeshSettings.parse("outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n"),
            Fixtures.PRODUCT_SERVICE);
    List<VirtualHost> vhosts = r.route("8080").getVirtualHostsList();
    VirtualHost last = vhosts.get(vhosts.size() - 1);
    assertThat(last.getName()).isEqualTo("block_all");
    assertThat(last.getDomainsList()).containsExactly("*");
    assertThat(last.getRoutes(0).getDirectResponse().getStatus()).isEqualTo(502);
    // an HTTP port's listener: plaintext HTTP to the connection manager, the rest blocked
    Listener l = r.listener("0.0.0.0_8080");
    assertThat(l.getFilterChains(0).getFilterChainMatch().getApplicationProtocolsList())
        .containsExactly("http/1.0", "http/1.1", "h2c");
    assertThat(tcp(l.getDefaultFilterChain()).getCluster()).isEqualTo("BlackHoleCluster");
  }

  @Test
  void gatewayTcpAndPassthroughServersForwardByTheirRoutes() {
    String gw =
        """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: edge, namespace: istio-system}
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: 5432, name: tcp, protocol: TCP}
            hosts: ["*"]
          - port: {number: 9443, name: tls, protocol: TLS}
            hosts: ["*.example.com"]
            tls: {mode: PASSTHROUGH}
          - port: {number: 7000, name: tcp-unrouted, protocol: TCP}
            hosts: ["*"]
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: edge-routes}
        spec:
          hosts: ["*.example.com"]
          gateways: [istio-system/edge]
          tcp:
          - match: [{port: 5432}]
            route: [{destination: {host: db.example.com}}]
          tls:
          - match: [{port: 9443, sniHosts: [a.example.com]}]
            route: [{destination: {host: replica.example.com, port: {number: 5432}}}]
          - match: [{port: 9443, sniHosts: [a.example.com, b.example.com]}]
            route: [{destination: {host: db.example.com}}]
        """;
    XdsResources r =
        XdsGenerator.generate(
            Fixtures.yaml(DB, gw),
            Fixtures.productPods(),
            ServiceEntryGatewayTableTest.router(Map.of("istio", "ingressgateway")));
    assertThat(r.listeners())
        .extracting(Listener::getName)
        .contains("0.0.0.0_5432", "0.0.0.0_9443");
    // a TCP server without a tcp route has no chain, so no listener
    assertThat(r.listener("0.0.0.0_7000")).isNull();
    Listener tcpServer = r.listener("0.0.0.0_5432");
    assertThat(tcpServer.getFilterChainsCount()).isEqualTo(1);
    assertThat(tcp(tcpServer.getFilterChains(0)).getCluster())
        .isEqualTo("outbound|5432||db.example.com");
    Listener passthrough = r.listener("0.0.0.0_9443");
    assertThat(passthrough.getListenerFilters(0).getName())
        .isEqualTo("envoy.filters.listener.tls_inspector");
    // the second match names a.example.com again: skipped, as Istio's duplicate SNI check
    assertThat(passthrough.getFilterChainsList())
        .extracting(
            fc -> fc.getFilterChainMatch().getServerNamesList() + "->" + tcp(fc).getCluster())
        .containsExactly("[a.example.com]->outbound|5432||replica.example.com");
  }
}
