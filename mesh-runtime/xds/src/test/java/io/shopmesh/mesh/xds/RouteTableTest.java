package io.shopmesh.mesh.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.shopmesh.mesh.wire.NodeId;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * VirtualService http features, one row each: the {@code http:} YAML and what the Envoy routes must
 * say.
 */
class RouteTableTest {

  static final String VH = "product-service.default.svc.cluster.local:8080";

  static Arguments row(String name, String http, Consumer<List<Route>> check) {
    return Arguments.of(name, http, check);
  }

  static Stream<Arguments> rows() {
    return Stream.of(
        row(
            "uri exact",
            """
            - match: [{uri: {exact: /api/products}}]
              route: [{destination: {host: product-service}}]
            """,
            r -> assertThat(r.get(0).getMatch().getPath()).isEqualTo("/api/products")),
        row(
            "uri prefix; Istio's config metadata and operation",
            """
            - match: [{uri: {prefix: /api}}]
              route: [{destination: {host: product-service}}]
            """,
            r -> {
              assertThat(r.get(0).getMatch().getPrefix()).isEqualTo("/api");
              assertThat(r.get(0).getMatch().getCaseSensitive().getValue()).isTrue();
              assertThat(r.get(0).getDecorator().getOperation())
                  .isEqualTo("product-service.default.svc.cluster.local:8080/api*");
              assertThat(
                      r.get(0)
                          .getMetadata()
                          .getFilterMetadataOrThrow("istio")
                          .getFieldsOrThrow("config")
                          .getStringValue())
                  .isEqualTo(
                      "/apis/networking.istio.io/v1alpha3/namespaces/default/virtual-service/product-vs");
            }),
        row(
            "uri regex and ignoreUriCase",
            """
            - match: [{uri: {regex: "/api/v[0-9]+/.*"}, ignoreUriCase: true}]
              route: [{destination: {host: product-service}}]
            """,
            r -> {
              assertThat(r.get(0).getMatch().getSafeRegex().getRegex())
                  .isEqualTo("/api/v[0-9]+/.*");
              assertThat(r.get(0).getMatch().getCaseSensitive().getValue()).isFalse();
            }),
        row(
            "headers exact, prefix, regex, present; withoutHeaders inverts",
            """
            - match:
              - headers:
                  user-type: {exact: premium}
                  x-a: {prefix: ab}
                  x-b: {regex: "c+"}
                  x-c: {}
                withoutHeaders:
                  x-debug: {exact: "1"}
              route: [{destination: {host: product-service, subset: v2}}]
            """,
            r -> {
              var h = r.get(0).getMatch().getHeadersList();
              assertThat(h).hasSize(5);
              assertThat(h.get(0).getName()).isEqualTo("user-type");
              assertThat(h.get(0).getStringMatch().getExact()).isEqualTo("premium");
              assertThat(h.get(1).getStringMatch().getPrefix()).isEqualTo("ab");
              assertThat(h.get(2).getStringMatch().getSafeRegex().getRegex()).isEqualTo("c+");
              assertThat(h.get(3).getPresentMatch()).isTrue();
              assertThat(h.get(4).getName()).isEqualTo("x-debug");
              assertThat(h.get(4).getInvertMatch()).isTrue();
              assertThat(r.get(0).getRoute().getCluster())
                  .isEqualTo("outbound|8080|v2|product-service.default.svc.cluster.local");
            }),
        row(
            "method and authority are pseudo-header matches",
            """
            - match: [{method: {exact: POST}, authority: {prefix: product}}]
              route: [{destination: {host: product-service}}]
            """,
            r -> {
              var h = r.get(0).getMatch().getHeadersList();
              assertThat(h.get(0).getName()).isEqualTo(":method");
              assertThat(h.get(0).getStringMatch().getExact()).isEqualTo("POST");
              assertThat(h.get(1).getName()).isEqualTo(":authority");
              assertThat(h.get(1).getStringMatch().getPrefix()).isEqualTo("product");
            }),
        row(
            "queryParams exact, regex and present",
            """
            - match: [{queryParams: {id: {exact: "7"}, q: {regex: "a.*"}, debug: {}}}]
              route: [{destination: {host: product-service}}]
            """,
            r -> {
              var q = r.get(0).getMatch().getQueryParametersList();
              assertThat(q.get(0).getName()).isEqualTo("id");
              assertThat(q.get(0).getStringMatch().getExact()).isEqualTo("7");
              assertThat(q.get(1).getStringMatch().getSafeRegex().getRegex()).isEqualTo("a.*");
              assertThat(q.get(2).getPresentMatch()).isTrue();
            }),
        row(
            "match entries are ORed: one route per entry; a catch-all ends the list",
            """
            - match: [{uri: {prefix: /a}}, {uri: {prefix: /b}}]
              route: [{destination: {host: product-service, subset: v1}}]
            - route: [{destination: {host: product-service, subset: v2}}]
            - route: [{destination: {host: product-service, subset: v1}}]
            """,
            r -> {
              assertThat(r).hasSize(3);
              assertThat(r.get(2).getMatch().getPrefix()).isEqualTo("/");
            }),
        row(
            "match port other than the virtual host's is left out",
            """
            - match: [{port: 9090, uri: {prefix: /x}}]
              route: [{destination: {host: product-service}}]
            - match: [{port: 8080, uri: {prefix: /y}}]
              route: [{destination: {host: product-service}}]
            """,
            r -> {
              assertThat(r).hasSize(1);
              assertThat(r.get(0).getMatch().getPrefix()).isEqualTo("/y");
            }),
        row(
            "weighted destinations without the deprecated total_weight",
            """
            - route:
              - {destination: {host: product-service, subset: v1}, weight: 80}
              - {destination: {host: product-service, subset: v2}, weight: 20}
            """,
            r -> {
              var wc = r.get(0).getRoute().getWeightedClusters();
              assertThat(wc.getClustersList())
                  .extracting(c -> c.getName() + "=" + c.getWeight().getValue())
                  .containsExactly(
                      "outbound|8080|v1|product-service.default.svc.cluster.local=80",
                      "outbound|8080|v2|product-service.default.svc.cluster.local=20");
              assertThat(wc.hasTotalWeight()).isFalse();
            }),
        row(
            "timeout and retries with numeric retryOn codes",
            """
            - route: [{destination: {host: product-service}}]
              timeout: 5s
              retries: {attempts: 3, perTryTimeout: 2s, retryOn: "gateway-error,503,connect-failure"}
            """,
            r -> {
              var a = r.get(0).getRoute();
              assertThat(a.getTimeout().getSeconds()).isEqualTo(5);
              assertThat(a.getRetryPolicy().getNumRetries().getValue()).isEqualTo(3);
              assertThat(a.getRetryPolicy().getPerTryTimeout().getSeconds()).isEqualTo(2);
              assertThat(a.getRetryPolicy().getRetryOn())
                  .isEqualTo("gateway-error,connect-failure,retriable-status-codes");
              assertThat(a.getRetryPolicy().getRetriableStatusCodesList()).containsExactly(503);
              assertThat(a.getRetryPolicy().getRetryHostPredicate(0).getName())
                  .isEqualTo("envoy.retry_host_predicates.previous_hosts");
              assertThat(a.getRetryPolicy().getHostSelectionRetryMaxAttempts()).isEqualTo(5);
            }),
        row(
            "timeout 500ms is milliseconds, as analyze reads it (not 500m then s)",
            """
            - route: [{destination: {host: product-service}}]
              timeout: 500ms
              retries: {attempts: 2, perTryTimeout: 1.5s}
            """,
            r -> {
              var a = r.get(0).getRoute();
              assertThat(a.getTimeout().getSeconds()).isZero();
              assertThat(a.getTimeout().getNanos()).isEqualTo(500_000_000);
              assertThat(a.getRetryPolicy().getPerTryTimeout().getSeconds()).isEqualTo(1);
              assertThat(a.getRetryPolicy().getPerTryTimeout().getNanos()).isEqualTo(500_000_000);
            }),
        row(
            "no retries block: Istio's default policy, no timeout",
            """
            - route: [{destination: {host: product-service}}]
            """,
            r -> {
              var a = r.get(0).getRoute();
              assertThat(a.getTimeout().getSeconds()).isZero();
              assertThat(a.getRetryPolicy()).isEqualTo(RetryPolicies.defaultRetryPolicy());
              assertThat(a.getRetryPolicy().getRetryOn())
                  .isEqualTo(
                      "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes");
              assertThat(a.getRetryPolicy().getNumRetries().getValue()).isEqualTo(2);
            }),
        row(
            "attempts 0 disables retries",
            """
            - route: [{destination: {host: product-service}}]
              retries: {attempts: 0}
            """,
            r -> assertThat(r.get(0).getRoute().hasRetryPolicy()).isFalse()),
        row(
            "fault delay and abort with percentages; the route keeps its timeout and retries",
            """
            - route: [{destination: {host: product-service}}]
              timeout: 1s
              retries: {attempts: 3}
              fault:
                delay: {fixedDelay: 7s, percentage: {value: 10}}
                abort: {httpStatus: 503, percentage: {value: 0.5}}
            """,
            r -> {
              HTTPFault f = unpack(r.get(0), "envoy.filters.http.fault", HTTPFault.class);
              assertThat(f.getDelay().getFixedDelay().getSeconds()).isEqualTo(7);
              assertThat(f.getDelay().getPercentage().getNumerator()).isEqualTo(100000);
              assertThat(f.getDelay().getPercentage().getDenominator())
                  .isEqualTo(FractionalPercent.DenominatorType.MILLION);
              assertThat(f.getAbort().getHttpStatus()).isEqualTo(503);
              assertThat(f.getAbort().getPercentage().getNumerator()).isEqualTo(5000);
              assertThat(r.get(0).getRoute().getRetryPolicy().getNumRetries().getValue())
                  .isEqualTo(3);
              assertThat(r.get(0).getRoute().getTimeout().getSeconds()).isEqualTo(1);
            }),
        row(
            "fault without percentage: unset, which Envoy reads as 0%; grpcStatus by name",
            """
            - route: [{destination: {host: product-service}}]
              fault:
                delay: {fixedDelay: 2s}
                abort: {grpcStatus: UNAVAILABLE}
            """,
            r -> {
              HTTPFault f = unpack(r.get(0), "envoy.filters.http.fault", HTTPFault.class);
              assertThat(f.getDelay().getFixedDelay().getSeconds()).isEqualTo(2);
              assertThat(f.getDelay().hasPercentage()).isFalse();
              assertThat(f.getAbort().hasPercentage()).isFalse();
              assertThat(f.getAbort().getGrpcStatus()).isEqualTo(14);
              assertThat(r.get(0).getRoute().getRetryPolicy())
                  .isEqualTo(RetryPolicies.defaultRetryPolicy());
            }),
        row(
            "mirror with mirrorPercentage",
            """
            - route: [{destination: {host: product-service, subset: v1}}]
              mirror: {host: product-service, subset: v2}
              mirrorPercentage: {value: 25}
            """,
            r -> {
              var m = r.get(0).getRoute().getRequestMirrorPolicies(0);
              assertThat(m.getCluster())
                  .isEqualTo("outbound|8080|v2|product-service.default.svc.cluster.local");
              assertThat(m.getRuntimeFraction().getDefaultValue().getNumerator()).isEqualTo(250000);
            }),
        row(
            "mirror without percentage mirrors everything",
            """
            - route: [{destination: {host: product-service, subset: v1}}]
              mirror: {host: product-service, subset: v2}
            """,
            r -> {
              var m = r.get(0).getRoute().getRequestMirrorPolicies(0);
              assertThat(m.getRuntimeFraction().getDefaultValue().getNumerator()).isEqualTo(100);
              assertThat(m.getRuntimeFraction().getDefaultValue().getDenominator())
                  .isEqualTo(FractionalPercent.DenominatorType.HUNDRED);
            }),
        row(
            "redirect",
            """
            - match: [{uri: {exact: /old}}]
              redirect: {uri: /new, authority: shop.example.com, redirectCode: 302}
            """,
            r -> {
              RedirectAction a = r.get(0).getRedirect();
              assertThat(a.getPathRedirect()).isEqualTo("/new");
              assertThat(a.getHostRedirect()).isEqualTo("shop.example.com");
              assertThat(a.getResponseCode()).isEqualTo(RedirectAction.RedirectResponseCode.FOUND);
            }),
        row(
            "rewrite uri and authority",
            """
            - match: [{uri: {prefix: /v1/}}]
              rewrite: {uri: /, authority: products.internal}
              route: [{destination: {host: product-service}}]
            """,
            r -> {
              assertThat(r.get(0).getRoute().getPrefixRewrite()).isEqualTo("/");
              assertThat(r.get(0).getRoute().getHostRewriteLiteral())
                  .isEqualTo("products.internal");
            }),
        row(
            "a set host header is a host rewrite, rewrite.authority wins",
            """
            - match: [{uri: {prefix: /a}}]
              headers: {request: {set: {Host: a.internal, x-a: "1"}}}
              route: [{destination: {host: product-service}}]
            - match: [{uri: {prefix: /b}}]
              headers: {request: {set: {host: ignored.internal}}}
              rewrite: {authority: b.internal}
              route: [{destination: {host: product-service}}]
            - route:
              - destination: {host: product-service, subset: v1}
                weight: 80
                headers: {request: {set: {":authority": v1.internal}}}
              - destination: {host: product-service, subset: v2}
                weight: 20
            """,
            r -> {
              assertThat(r.get(0).getRoute().getHostRewriteLiteral()).isEqualTo("a.internal");
              assertThat(r.get(0).getRequestHeadersToAddList())
                  .extracting(h -> h.getHeader().getKey())
                  .containsExactly("x-a");
              assertThat(r.get(1).getRoute().getHostRewriteLiteral()).isEqualTo("b.internal");
              var weighted = r.get(2).getRoute().getWeightedClusters();
              assertThat(r.get(2).getRoute().getHostRewriteLiteral()).isEmpty();
              assertThat(weighted.getClusters(0).getHostRewriteLiteral()).isEqualTo("v1.internal");
              assertThat(weighted.getClusters(0).getRequestHeadersToAddList()).isEmpty();
              assertThat(weighted.getClusters(1).getHostRewriteLiteral()).isEmpty();
            }),
        row(
            "headers set/add/remove on request and response",
            """
            - route: [{destination: {host: product-service}}]
              headers:
                request: {set: {x-a: "1"}, add: {x-b: "2"}, remove: [x-c]}
                response: {set: {x-d: "3"}, remove: [server]}
            """,
            r -> {
              Route x = r.get(0);
              assertThat(x.getRequestHeadersToAddList())
                  .extracting(h -> h.getHeader().getKey() + ":" + h.getAppendAction())
                  .containsExactly(
                      "x-a:" + HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD,
                      "x-b:" + HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD);
              assertThat(x.getRequestHeadersToRemoveList()).containsExactly("x-c");
              assertThat(x.getResponseHeadersToAdd(0).getHeader().getValue()).isEqualTo("3");
              assertThat(x.getResponseHeadersToRemoveList()).containsExactly("server");
            }),
        row(
            "corsPolicy",
            """
            - route: [{destination: {host: product-service}}]
              corsPolicy:
                allowOrigins: [{exact: "https://shop.example.com"}, {regex: ".*\\\\.example\\\\.com"}]
                allowMethods: [GET, POST]
                allowHeaders: [x-a]
                exposeHeaders: [x-b]
                maxAge: 24h
                allowCredentials: true
            """,
            r -> {
              CorsPolicy c = unpack(r.get(0), "envoy.filters.http.cors", CorsPolicy.class);
              assertThat(c.getAllowOriginStringMatch(0).getExact())
                  .isEqualTo("https://shop.example.com");
              assertThat(c.getAllowOriginStringMatch(1).hasSafeRegex()).isTrue();
              assertThat(c.getAllowMethods()).isEqualTo("GET,POST");
              assertThat(c.getAllowHeaders()).isEqualTo("x-a");
              assertThat(c.getExposeHeaders()).isEqualTo("x-b");
              assertThat(c.getMaxAge()).isEqualTo("86400");
              assertThat(c.getAllowCredentials().getValue()).isTrue();
              assertThat(c.getFilterEnabled().getDefaultValue().getNumerator()).isEqualTo(100);
            }),
        row(
            "directResponse",
            """
            - directResponse: {status: 418, body: {string: teapot}}
            """,
            r -> {
              assertThat(r.get(0).getDirectResponse().getStatus()).isEqualTo(418);
              assertThat(r.get(0).getDirectResponse().getBody().getInlineString())
                  .isEqualTo("teapot");
            }));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void translates(String name, String http, Consumer<List<Route>> check) {
    String vs =
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: product-vs
        spec:
          hosts: [product-service]
          http:
        """
            + http.indent(2);
    var config = Fixtures.yaml(Fixtures.PRODUCT_SERVICE, Fixtures.PRODUCT_DR, vs);
    XdsResources r =
        XdsGenerator.generate(config, Fixtures.productPods(), Fixtures.frontendSidecar());
    VirtualHost vh = vhost(r.route("8080"), VH);
    check.accept(vh.getRoutesList());
  }

  @Test
  void aTimeoutInMillisecondsPassesPreflightAsItPassesAnalyze() {
    String vs =
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: product-vs
        spec:
          hosts: [product-service]
          http:
          - route: [{destination: {host: product-service}}]
            timeout: 500ms
        """;
    var config = Fixtures.yaml(Fixtures.PRODUCT_SERVICE, Fixtures.PRODUCT_DR, vs);
    assertThat(Preflight.check(config)).isEmpty();
  }

  @Test
  void domainsFollowIstioAndShortNameOnlyInTheSameNamespace() {
    var config = Fixtures.yaml(Fixtures.PRODUCT_SERVICE);
    XdsResources same =
        XdsGenerator.generate(config, Fixtures.productPods(), Fixtures.frontendSidecar());
    assertThat(vhost(same.route("8080"), VH).getDomainsList())
        .containsExactly(
            "product-service.default.svc.cluster.local",
            "product-service.default.svc.cluster.local.",
            "product-service",
            "product-service.default.svc",
            "product-service.default");
    // Istio since 1.16: no host:port domains, Envoy ignores the port when matching
    assertThat(same.route("8080").getIgnorePortInHostMatching()).isTrue();
    ProxyNode other =
        new ProxyNode(
            NodeId.Type.SIDECAR,
            "sidecar~127.0.2.1~x-0.shop~shop.svc.cluster.local",
            "127.0.2.1",
            "x-0",
            "shop",
            java.util.Map.of("app", "x"),
            "x",
            List.of(),
            "NONE");
    XdsResources r = XdsGenerator.generate(config, Fixtures.productPods(), other);
    assertThat(vhost(r.route("8080"), VH).getDomainsList())
        .containsExactly(
            "product-service.default.svc.cluster.local",
            "product-service.default.svc.cluster.local.",
            "product-service.default",
            "product-service.default.svc");
    RouteConfiguration rc = r.route("8080");
    assertThat(rc.getVirtualHosts(rc.getVirtualHostsCount() - 1).getName()).isEqualTo("allow_any");
  }

  @Test
  void consistentHashBecomesTheRouteHashPolicy() {
    String dr =
        """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: product-service
        spec:
          host: product-service
          trafficPolicy:
            loadBalancer:
              consistentHash: {httpHeaderName: x-user}
          subsets:
          - name: v1
            labels: {version: v1}
            trafficPolicy:
              loadBalancer:
                consistentHash: {httpCookie: {name: session, ttl: 60s}}
        """;
    var config = Fixtures.yaml(Fixtures.PRODUCT_SERVICE, dr);
    XdsResources r =
        XdsGenerator.generate(config, Fixtures.productPods(), Fixtures.frontendSidecar());
    Route def = vhost(r.route("8080"), VH).getRoutes(0);
    assertThat(def.getName()).isEqualTo("default");
    assertThat(def.getRoute().getHashPolicy(0).getHeader().getHeaderName()).isEqualTo("x-user");
    // Istio's DefaultConsistentHashPolicy: retries stay on the hashed host
    assertThat(def.getRoute().getRetryPolicy().getRetryHostPredicateList()).isEmpty();
    assertThat(def.getRoute().getRetryPolicy().getNumRetries().getValue()).isEqualTo(2);

    String vs =
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: product-vs
        spec:
          hosts: [product-service]
          http:
          - route: [{destination: {host: product-service, subset: v1}}]
        """;
    r =
        XdsGenerator.generate(
            Fixtures.yaml(Fixtures.PRODUCT_SERVICE, dr, vs),
            Fixtures.productPods(),
            Fixtures.frontendSidecar());
    var hp = vhost(r.route("8080"), VH).getRoutes(0).getRoute().getHashPolicy(0);
    assertThat(hp.getCookie().getName()).isEqualTo("session");
    assertThat(hp.getCookie().getTtl().getSeconds()).isEqualTo(60);

    // weighted: one hash policy per destination, in order (route.go processWeightedDestination),
    // and the retries keep previous_hosts (only a single destination counts as consistent hash)
    String weighted =
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: product-vs
        spec:
          hosts: [product-service]
          http:
          - route:
            - {destination: {host: product-service, subset: v1}, weight: 50}
            - {destination: {host: product-service, subset: v2}, weight: 50}
        """;
    String drV2 =
        dr
            + """
              - name: v2
                labels: {version: v2}
            """;
    r =
        XdsGenerator.generate(
            Fixtures.yaml(Fixtures.PRODUCT_SERVICE, drV2, weighted),
            Fixtures.productPods(),
            Fixtures.frontendSidecar());
    var action = vhost(r.route("8080"), VH).getRoutes(0).getRoute();
    assertThat(action.getHashPolicyList())
        .extracting(
            h ->
                h.hasCookie() ? "cookie " + h.getCookie().getName() : h.getHeader().getHeaderName())
        .containsExactly("cookie session", "x-user");
    assertThat(action.getRetryPolicy().getRetryHostPredicateList()).hasSize(1);
  }

  @Test
  @SuppressWarnings("deprecation")
  void outboundRoutesCarryMaxGrpcTimeoutAsIstioSetsIt() {
    String vs =
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: product-vs
        spec:
          hosts: [product-service]
          http:
          - match: [{uri: {prefix: /slow}}]
            route: [{destination: {host: product-service}}]
            timeout: 3s
          - route: [{destination: {host: product-service}}]
        """;
    XdsResources r =
        XdsGenerator.generate(
            Fixtures.yaml(Fixtures.PRODUCT_SERVICE, vs),
            Fixtures.productPods(),
            Fixtures.frontendSidecar());
    RouteConfiguration rc = r.route("8080");
    var timed = vhost(rc, VH).getRoutes(0).getRoute();
    assertThat(timed.getMaxGrpcTimeout().getSeconds()).isEqualTo(3);
    assertThat(timed.hasMaxStreamDuration()).isFalse();
    var untimed = vhost(rc, VH).getRoutes(1).getRoute();
    assertThat(untimed.hasMaxGrpcTimeout()).isTrue();
    assertThat(untimed.getMaxGrpcTimeout().getSeconds()).isZero();
    var passthrough = vhost(rc, "allow_any").getRoutes(0).getRoute();
    assertThat(passthrough.hasMaxGrpcTimeout()).isTrue();
    assertThat(passthrough.hasMaxStreamDuration()).isFalse();
  }

  static VirtualHost vhost(RouteConfiguration rc, String name) {
    return rc.getVirtualHostsList().stream()
        .filter(v -> v.getName().equals(name))
        .findFirst()
        .orElseThrow();
  }

  static <T extends com.google.protobuf.Message> T unpack(Route r, String filter, Class<T> type) {
    try {
      return r.getTypedPerFilterConfigOrThrow(filter).unpack(type);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }
}
