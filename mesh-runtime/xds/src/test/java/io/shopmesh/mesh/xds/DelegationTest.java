package io.shopmesh.mesh.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPMatchRequest;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatch;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatchExact;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatchPrefix;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatchRegex;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * VirtualService delegation as Istio merges it (pilot model/virtualservice.go MergeHTTPRoutes): the
 * delegate's rules take the root rule's place, matches merged, the root's policies filling what the
 * delegate leaves unset.
 */
class DelegationTest {
  static final String VH = "product-service.default.svc.cluster.local:8080";
  static final String V1 = "outbound|8080|v1|product-service.default.svc.cluster.local";
  static final String V2 = "outbound|8080|v2|product-service.default.svc.cluster.local";
  static final String ALL = "outbound|8080||product-service.default.svc.cluster.local";

  static final String ROOT =
      """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: {name: root, namespace: default}
      spec:
        hosts: [product-service]
        http:
        - name: api
          match: [{uri: {prefix: /api}, headers: {x-team: {exact: shop}}}]
          delegate: {name: product-routes%s}
          timeout: 3s
          headers: {response: {set: {x-root: "1"}}}
        - name: rest
          route: [{destination: {host: product-service}}]
      """;

  static String root(String delegateNamespace) {
    return ROOT.formatted(delegateNamespace == null ? "" : ", namespace: " + delegateNamespace);
  }

  static String delegate(String namespace, String extra) {
    return """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: product-routes, namespace: %s}
        spec:
        %s
          http:
          - name: v2
            match: [{uri: {prefix: /api/v2}, headers: {x-user: {exact: beta}}}]
            route: [{destination: {host: product-service.default.svc.cluster.local, subset: v2}}]
            timeout: 1s
          - name: elsewhere
            match: [{uri: {prefix: /admin}}]
            route: [{destination: {host: product-service.default.svc.cluster.local, subset: v2}}]
          - name: v1
            route: [{destination: {host: product-service.default.svc.cluster.local, subset: v1}}]
        """
        .formatted(namespace, extra);
  }

  static VirtualHost sidecarVhost(String... docs) {
    List<String> all = new ArrayList<>(List.of(Fixtures.PRODUCT_SERVICE, Fixtures.PRODUCT_DR));
    all.addAll(List.of(docs));
    return RouteTableTest.vhost(
        XdsGenerator.generate(
                Fixtures.yaml(all.toArray(String[]::new)),
                Fixtures.productPods(),
                Fixtures.frontendSidecar())
            .route("8080"),
        VH);
  }

  static List<String> summary(VirtualHost vh) {
    return vh.getRoutesList().stream().map(DelegationTest::summary).toList();
  }

  static String summary(Route r) {
    String m =
        r.getMatch().hasPrefix()
            ? r.getMatch().getPrefix()
            : r.getMatch().getPath() + r.getMatch().getSafeRegex().getRegex();
    StringBuilder headers = new StringBuilder();
    for (HeaderMatcher h : r.getMatch().getHeadersList()) {
      headers.append(' ').append(h.getName()).append('=').append(h.getStringMatch().getExact());
    }
    return r.getName() + " " + m + headers + " " + r.getRoute().getCluster();
  }

  @Test
  void theDelegatesRulesTakeTheRootRulesPlaceWithMergedMatches() {
    VirtualHost vh = sidecarVhost(root(null), delegate("default", ""));
    // "elsewhere" (/admin) is not within the root's /api: Istio drops it
    assertThat(summary(vh))
        .containsExactly(
            "api-v2 /api/v2 x-team=shop x-user=beta " + V2,
            "api-v1 /api x-team=shop " + V1,
            "rest / " + ALL);
    Route v2 = vh.getRoutes(0);
    Route v1 = vh.getRoutes(1);
    // the delegate's own timeout wins, the root's fills the rule that has none
    assertThat(v2.getRoute().getTimeout().getSeconds()).isEqualTo(1);
    assertThat(v1.getRoute().getTimeout().getSeconds()).isEqualTo(3);
    // the root's headers apply to every merged rule that sets none
    assertThat(v1.getResponseHeadersToAddList())
        .extracting(h -> h.getHeader().getKey())
        .containsExactly("x-root");
    // the routes are the root's (Istio's merged VirtualService keeps the root's metadata)
    assertThat(
            v1.getMetadata()
                .getFilterMetadataOrThrow("istio")
                .getFieldsOrThrow("config")
                .getStringValue())
        .endsWith("/namespaces/default/virtual-service/root");
  }

  @Test
  void aMissingOrHiddenDelegateDropsOnlyTheRootRule() {
    // no delegate at all
    assertThat(summary(sidecarVhost(root(null)))).containsExactly("rest / " + ALL);
    // a delegate in another namespace exported only to its own
    assertThat(summary(sidecarVhost(root("team"), delegate("team", "  exportTo: [.]"))))
        .containsExactly("rest / " + ALL);
    // exported to the root's namespace: merged
    assertThat(summary(sidecarVhost(root("team"), delegate("team", "  exportTo: [default]"))))
        .hasSize(3)
        .first()
        .asString()
        .startsWith("api-v2 ");
    // a VirtualService with hosts is a root, never a delegate
    String withHosts = delegate("default", "  hosts: [other.example.com]");
    assertThat(summary(sidecarVhost(root(null), withHosts))).containsExactly("rest / " + ALL);
  }

  @Test
  void aDelegatesShortNamesAreResolvedInItsOwnNamespace() {
    String d =
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: product-routes, namespace: team}
        spec:
          http:
          - route: [{destination: {host: product-service}}]
        """;
    // product-service of "team", not of the root's "default"
    assertThat(summary(sidecarVhost(root("team"), d)))
        .containsExactly(
            "api /api x-team=shop outbound|8080||product-service.team.svc.cluster.local",
            "rest / " + ALL);
  }

  @Test
  void aDelegateAloneAppliesToNothing() {
    VirtualHost vh = sidecarVhost(delegate("default", ""));
    assertThat(summary(vh)).containsExactly("default / " + ALL);
  }

  @Test
  void gatewayRoutesMergeTheDelegateToo() {
    String root =
        GatewayRoutesTest.gateway("shop.example.com")
            + "---\n"
            + GatewayRoutesTest.vs(
                "shop",
                "default",
                "shop.example.com",
                "",
                """
                - name: api
                  match: [{uri: {prefix: /api}}]
                  delegate: {name: product-routes}
                """);
    String d =
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: product-routes, namespace: default}
        spec:
          http:
          - name: v2
            match: [{uri: {prefix: /api/v2}}]
            route: [{destination: {host: product-service, subset: v2}}]
          - match: [{uri: {exact: /api/health}, gateways: [other-gateway]}]
            route: [{destination: {host: product-service, subset: v1}}]
          - route: [{destination: {host: product-service, subset: v1}}]
        """;
    VirtualHost vh =
        GatewayRoutesTest.routes(root, d).getVirtualHostsList().stream()
            .filter(v -> v.getDomainsList().contains("shop.example.com"))
            .findFirst()
            .orElseThrow();
    // the /api/health rule is for default/other-gateway only (resolved in the delegate's
    // namespace)
    assertThat(vh.getRoutesList().stream().map(DelegationTest::summary).toList())
        .containsExactly("api-v2 /api/v2 " + V2, "api /api " + V1);
  }

  @Test
  void matchConflictsAsIstioDecidesThem() {
    assertThat(Delegation.stringConflict(prefix("/a"), prefix("/a/b"))).isFalse();
    assertThat(Delegation.stringConflict(prefix("/a/b"), prefix("/a"))).isTrue();
    assertThat(Delegation.stringConflict(prefix("/a"), exact("/a/x"))).isFalse();
    assertThat(Delegation.stringConflict(exact("/a"), exact("/a"))).isFalse();
    assertThat(Delegation.stringConflict(exact("/a"), prefix("/a"))).isTrue();
    assertThat(Delegation.stringConflict(regex("/a.*"), prefix("/a"))).isTrue();
    assertThat(Delegation.stringConflict(null, regex("/a.*"))).isFalse();
    HTTPMatchRequest root = new HTTPMatchRequest();
    root.setSourceLabels(Map.of("app", "frontend"));
    HTTPMatchRequest leaf = new HTTPMatchRequest();
    leaf.setSourceLabels(Map.of("app", "order"));
    assertThat(Delegation.conflict(root, leaf)).isTrue();
    leaf.setSourceLabels(Map.of("version", "v1"));
    assertThat(Delegation.conflict(root, leaf)).isFalse();
    leaf.setIgnoreUriCase(true);
    assertThat(Delegation.conflict(root, leaf)).isTrue();
  }

  static StringMatch prefix(String p) {
    return new StringMatch(new StringMatchPrefix(p));
  }

  static StringMatch exact(String p) {
    return new StringMatch(new StringMatchExact(p));
  }

  static StringMatch regex(String p) {
    return new StringMatch(new StringMatchRegex(p));
  }
}
