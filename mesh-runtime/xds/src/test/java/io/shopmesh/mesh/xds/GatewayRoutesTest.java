package io.shopmesh.mesh.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Gateway route configs as Istio's gateway.go builds them (buildGatewayHTTPRouteConfig). */
class GatewayRoutesTest {

  static final String SHOP_GATEWAY =
      """
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata:
        name: shop-gateway
        namespace: default
      spec:
        selector: {istio: ingressgateway}
        servers:
        - port: {number: 80, name: http, protocol: HTTP}
          hosts: [%s]
      """;

  static String gateway(String hosts) {
    return SHOP_GATEWAY.formatted(hosts);
  }

  static String vs(String name, String namespace, String hosts, String extra, String http) {
    return """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: %s
          namespace: %s
        %s
        spec:
          hosts: [%s]
          gateways: [default/shop-gateway]
          http:
        %s
        """
        .formatted(name, namespace, extra, hosts, http.indent(2).stripTrailing());
  }

  static final String TO_PRODUCT =
      "- route: [{destination: {host: product-service.default.svc.cluster.local}}]";

  static String prefixTo(String prefix, String subset) {
    return "- match: [{uri: {prefix: "
        + prefix
        + "}}]\n  route: [{destination: {host: product-service.default.svc.cluster.local, subset: "
        + subset
        + "}}]";
  }

  static RouteConfiguration routes(String... docs) {
    List<String> all =
        new java.util.ArrayList<>(List.of(Fixtures.PRODUCT_SERVICE, Fixtures.PRODUCT_DR));
    all.addAll(List.of(docs));
    XdsResources r =
        XdsGenerator.generate(
            Fixtures.yaml(all.toArray(String[]::new)),
            Fixtures.productPods(),
            ServiceEntryGatewayTableTest.router(
                Map.of("istio", "ingressgateway", "app", "istio-ingressgateway")));
    return r.route("http.8080");
  }

  static List<String> summary(RouteConfiguration rc) {
    return rc.getVirtualHostsList().stream()
        .map(v -> v.getName() + " " + v.getDomainsList() + " " + v.getRequireTls())
        .toList();
  }

  static List<String> routeNames(VirtualHost vh) {
    return vh.getRoutesList().stream().map(Route::getName).toList();
  }

  @Test
  void domainsAreTheIntersectionOfVirtualServiceAndServerHosts() {
    RouteConfiguration rc =
        routes(gateway("shop.example.com"), vs("catch-all", "default", "\"*\"", "", TO_PRODUCT));
    // a VirtualService for * on a shop.example.com server serves only shop.example.com
    assertThat(summary(rc)).containsExactly("shop.example.com:80 [shop.example.com] NONE");
    assertThat(rc.getIgnorePortInHostMatching()).isTrue();

    rc =
        routes(
            gateway("\"*.example.com\""),
            vs("two", "default", "a.example.com, b.other.org", "", TO_PRODUCT));
    assertThat(summary(rc)).containsExactly("a.example.com:80 [a.example.com] NONE");
  }

  @Test
  void virtualServicesForOneHostMergeInCreationThenNameOrder() {
    String older =
        vs(
            "zz-older",
            "default",
            "shop.example.com",
            "  creationTimestamp: \"2026-01-01T00:00:00Z\"",
            prefixTo("/api", "v2") + "\n" + TO_PRODUCT);
    String b = vs("b-later", "default", "shop.example.com", "", prefixTo("/b", "v1"));
    String a = vs("a-later", "default", "shop.example.com", "", prefixTo("/a", "v1"));
    // no creation time sorts first, then by name; catch-all routes move to the end
    RouteConfiguration rc = routes(gateway("shop.example.com"), older, b, a);
    assertThat(rc.getVirtualHostsCount()).isEqualTo(1);
    VirtualHost vh = rc.getVirtualHosts(0);
    assertThat(vh.getRoutesList())
        .extracting(r -> r.getMatch().getPrefix())
        .containsExactly("/a", "/b", "/api", "/");
  }

  @Test
  void namespacedServerHostsBindOnlyVirtualServicesOfThatNamespace() {
    String inDefault = vs("shop-vs", "default", "shop.example.com", "", TO_PRODUCT);
    String inOther = vs("other-vs", "other", "other.example.com", "", TO_PRODUCT);
    RouteConfiguration rc =
        routes(gateway("other/other.example.com, default/shop.example.com"), inDefault, inOther);
    assertThat(summary(rc))
        .containsExactly(
            "other.example.com:80 [other.example.com] NONE",
            "shop.example.com:80 [shop.example.com] NONE");
    // ./host is the gateway's namespace: the VirtualService in "other" does not bind
    rc =
        routes(
            gateway("./shop.example.com, ./other.example.com"),
            inDefault,
            vs("other-vs", "other", "other.example.com", "", TO_PRODUCT));
    assertThat(summary(rc)).containsExactly("shop.example.com:80 [shop.example.com] NONE");
    // */host binds any namespace
    rc = routes(gateway("\"*/other.example.com\""), inOther);
    assertThat(summary(rc)).containsExactly("other.example.com:80 [other.example.com] NONE");
    // a namespace that is not the VirtualService's
    rc = routes(gateway("other/shop.example.com"), inDefault);
    assertThat(summary(rc)).containsExactly("blackhole:80 [*] NONE");
    assertThat(rc.getVirtualHosts(0).getRoutesList()).isEmpty();
  }

  @Test
  void hostsWithTheSameRoutesCollapseIntoOneVirtualHost() {
    RouteConfiguration rc =
        routes(
            gateway("\"*.example.com\""),
            vs("shop-vs", "default", "shop.example.com, www.example.com", "", TO_PRODUCT));
    assertThat(summary(rc))
        .containsExactly("shop.example.com:80 [shop.example.com, www.example.com] NONE");
  }

  @Test
  void httpsRedirectRequiresTlsAlsoForHostsWithoutVirtualService() {
    String gw =
        """
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata:
          name: shop-gateway
          namespace: default
        spec:
          selector: {istio: ingressgateway}
          servers:
          - port: {number: 80, name: http, protocol: HTTP}
            hosts: [shop.example.com, admin.example.com]
            tls: {httpsRedirect: true}
        """;
    RouteConfiguration rc =
        routes(gw, vs("shop-vs", "default", "shop.example.com", "", TO_PRODUCT));
    assertThat(summary(rc))
        .containsExactly(
            "admin.example.com:80 [admin.example.com] ALL",
            "shop.example.com:80 [shop.example.com] ALL");
    assertThat(rc.getVirtualHosts(0).getRoutesList()).isEmpty();
    assertThat(rc.getVirtualHosts(1).getRoutesCount()).isEqualTo(1);
  }
}
