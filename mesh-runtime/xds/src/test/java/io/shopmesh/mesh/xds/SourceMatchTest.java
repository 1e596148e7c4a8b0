package io.shopmesh.mesh.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * VirtualService matches with {@code sourceLabels} / {@code sourceNamespace} are built only for the
 * proxies they select (Istio's route.go sourceMatchHTTP).
 */
class SourceMatchTest {
  static final String VH = "product-service.default.svc.cluster.local:8080";

  static final String VS =
      """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata:
        name: product-vs
      spec:
        hosts: [product-service]
        http:
        - name: from-frontend
          match: [{sourceLabels: {app: frontend}}]
          route: [{destination: {host: product-service, subset: v2}}]
        - name: from-shop-ns
          match: [{sourceNamespace: shop, uri: {prefix: /api}}]
          route: [{destination: {host: product-service, subset: v2}}]
        - name: rest
          route: [{destination: {host: product-service, subset: v1}}]
      """;

  static ProxyNode sidecar(String pod, String ns, Map<String, String> labels) {
    return ProxyNode.sidecar(
        new WorkloadInstance(pod, ns, "127.0.2.9", labels, pod, List.of(), true));
  }

  static List<String> routes(PushContext ctx, ProxyNode proxy) {
    VirtualHost vh =
        RouteTableTest.vhost(
            XdsGenerator.generate(ctx, Fixtures.productPods(), proxy).route("8080"), VH);
    return vh.getRoutesList().stream()
        .map(r -> r.getName() + " " + r.getRoute().getCluster())
        .toList();
  }

  @Test
  void aSourceMatchIsBuiltOnlyForTheProxiesItSelects() {
    PushContext ctx =
        new PushContext(Fixtures.yaml(Fixtures.PRODUCT_SERVICE, Fixtures.PRODUCT_DR, VS));
    String v1 = "outbound|8080|v1|product-service.default.svc.cluster.local";
    String v2 = "outbound|8080|v2|product-service.default.svc.cluster.local";
    // the frontend: its labels match, and the source-label-only match is a catch-all for it
    assertThat(routes(ctx, Fixtures.frontendSidecar())).containsExactly("from-frontend " + v2);
    // another workload of the same namespace: only the rest
    assertThat(routes(ctx, sidecar("order-0", "default", Map.of("app", "order"))))
        .containsExactly("rest " + v1);
    // a workload in "shop": the namespace match, with its uri condition, then the rest
    List<String> shop = routes(ctx, sidecar("x-0", "shop", Map.of("app", "x")));
    assertThat(shop).containsExactly("from-shop-ns " + v2, "rest " + v1);
  }

  @Test
  void withAllMatchesDroppedTheServiceKeepsItsDefaultRoute() {
    String vs =
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: product-vs
        spec:
          hosts: [product-service]
          http:
          - match: [{sourceLabels: {app: frontend}}]
            route: [{destination: {host: product-service, subset: v2}}]
        """;
    PushContext ctx =
        new PushContext(Fixtures.yaml(Fixtures.PRODUCT_SERVICE, Fixtures.PRODUCT_DR, vs));
    assertThat(routes(ctx, sidecar("order-0", "default", Map.of("app", "order"))))
        .containsExactly("default outbound|8080||product-service.default.svc.cluster.local");
  }

  @Test
  void gatewaysAndSourceLabelsCombined() {
    String gw =
        """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: shop-gateway
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: 80, name: http, protocol: HTTP}
            hosts: [shop.example.com]
        """;
    String vs =
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: shop
        spec:
          hosts: [shop.example.com]
          gateways: [shop-gateway]
          http:
          - name: canary-gateway
            match: [{sourceLabels: {canary: "true"}}]
            route: [{destination: {host: product-service, subset: v2}}]
          - name: all
            route: [{destination: {host: product-service, subset: v1}}]
        """;
    PushContext ctx =
        new PushContext(Fixtures.yaml(Fixtures.PRODUCT_SERVICE, Fixtures.PRODUCT_DR, gw, vs));
    Map<String, String> plain = Map.of("istio", "ingressgateway", "app", "istio-ingressgateway");
    Map<String, String> canary =
        Map.of("istio", "ingressgateway", "app", "istio-ingressgateway", "canary", "true");
    assertThat(gatewayRoutes(ctx, plain)).containsExactly("all");
    assertThat(gatewayRoutes(ctx, canary)).containsExactly("canary-gateway");

    // a match naming its gateways is kept for them: Istio does not check its source labels
    String named =
        vs.replace(
            "match: [{sourceLabels: {canary: \"true\"}}]",
            "match: [{gateways: [shop-gateway], sourceLabels: {canary: \"true\"}}]");
    assertThat(named).isNotEqualTo(vs);
    ctx = new PushContext(Fixtures.yaml(Fixtures.PRODUCT_SERVICE, Fixtures.PRODUCT_DR, gw, named));
    assertThat(gatewayRoutes(ctx, plain)).containsExactly("canary-gateway");
  }

  static List<String> gatewayRoutes(PushContext ctx, Map<String, String> labels) {
    XdsResources r =
        XdsGenerator.generate(
            ctx, Fixtures.productPods(), ServiceEntryGatewayTableTest.router(labels));
    return r.route("http.8080").getVirtualHosts(0).getRoutesList().stream()
        .map(Route::getName)
        .toList();
  }
}
