package io.shopmesh.mesh.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.shopmesh.mesh.config.MeshConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The per-push indexes give what a fresh translation gives: endpoints per registry, VS precedence.
 */
class PushContextCacheTest {

  @Test
  void endpointsFollowTheRegistrySnapshotPassedIn() {
    MeshConfig config = Fixtures.yaml(Fixtures.PRODUCT_SERVICE, Fixtures.PRODUCT_DR);
    PushContext ctx = new PushContext(config);
    ServiceRegistry all = Fixtures.productPods();
    ServiceRegistry v1Only =
        new ServiceRegistry(
            all.workloads().stream()
                .filter(w -> !w.podName().equals("product-service-v2-0"))
                .toList());
    String cluster = "outbound|8080||product-service.default.svc.cluster.local";
    for (ServiceRegistry reg : List.of(all, v1Only, all)) {
      XdsResources shared = XdsGenerator.generate(ctx, reg, Fixtures.frontendSidecar());
      XdsResources fresh =
          XdsGenerator.generate(new PushContext(config), reg, Fixtures.frontendSidecar());
      assertThat(shared.endpoints()).isEqualTo(fresh.endpoints());
    }
    XdsResources r = XdsGenerator.generate(ctx, v1Only, Fixtures.frontendSidecar());
    assertThat(r.endpoints(cluster).getEndpoints(0).getLbEndpointsCount()).isEqualTo(1);
    assertThat(
            r.endpoints("outbound|8080|v2|product-service.default.svc.cluster.local")
                .getEndpointsCount())
        .isZero();
  }

  @Test
  void sidecarVirtualServiceExactHostBeatsAnEarlierWildcard() {
    String wildcard =
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: a-wildcard
        spec:
          hosts:
          - "*.default.svc.cluster.local"
          http:
          - route:
            - destination:
                host: product-service
        """;
    String exact =
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: b-exact
        spec:
          hosts:
          - product-service
          http:
          - route:
            - destination:
                host: product-service
        """;
    PushContext ctx = new PushContext(Fixtures.yaml(Fixtures.PRODUCT_SERVICE, wildcard, exact));
    assertThat(ctx.sidecarVirtualService("product-service.default.svc.cluster.local").name())
        .isEqualTo("b-exact");
    assertThat(ctx.sidecarVirtualService("other.default.svc.cluster.local").name())
        .isEqualTo("a-wildcard");
    assertThat(ctx.sidecarVirtualService("other.shop.svc.cluster.local")).isNull();
  }

  @Test
  void eachVirtualServiceIsTranslatedOncePerPushContext() {
    String vs =
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: product-vs
        spec:
          hosts: [product-service]
          http:
          - route:
            - {destination: {host: product-service, subset: v1}, weight: 80}
            - {destination: {host: product-service, subset: v2}, weight: 20}
            timeout: 500ms
        """;
    PushContext ctx =
        new PushContext(Fixtures.yaml(Fixtures.PRODUCT_SERVICE, Fixtures.PRODUCT_DR, vs));
    ServiceRegistry reg = Fixtures.productPods();
    assertThat(Preflight.check(ctx)).isEmpty();
    // the check translated it at the port the push asks for
    assertThat(
            ctx.cachedRoutes(
                ctx.config().virtualServices().get(0),
                8080,
                null,
                "",
                () -> {
                  throw new AssertionError("translated again");
                }))
        .hasSize(1);
    String vh = "product-service.default.svc.cluster.local:8080";
    var afterPreflight =
        RouteTableTest.vhost(
                XdsGenerator.generate(ctx, reg, Fixtures.frontendSidecar()).route("8080"), vh)
            .getRoutes(0);
    ProxyNode product = ProxyNode.sidecar(reg.workloads().get(0));
    var otherProxy =
        RouteTableTest.vhost(XdsGenerator.generate(ctx, reg, product).route("8080"), vh)
            .getRoutes(0);
    // the same translated object: neither the second proxy nor the push after the check
    // translated the VirtualService again
    assertThat(otherProxy).isSameAs(afterPreflight);
    var freshCtx =
        RouteTableTest.vhost(XdsGenerator.generate(ctx.config(), reg, product).route("8080"), vh)
            .getRoutes(0);
    assertThat(freshCtx).isEqualTo(afterPreflight).isNotSameAs(afterPreflight);
  }
}
