package io.shopmesh.mesh.proxy;

import static io.shopmesh.mesh.proxy.Shapes.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Route features on one sidecar, each against stub upstreams on real sockets. */
class RoutingFeaturesTest {
  static final String HOST = "product-service" + SUFFIX;
  static final String V1 = outbound(8080, "v1", HOST);
  static final String V2 = outbound(8080, "v2", HOST);
  static final String SHADOW = outbound(8080, "shadow", HOST);

  static Harness h;
  static Proxy proxy;
  static Stub v1;
  static Stub v2;
  static Stub shadow;
  static HttpClient client;

  @BeforeAll
  static void setUp() throws Exception {
    h = new Harness();
    v1 = h.stub("v1");
    v2 = h.stub("v2");
    shadow = h.stub("shadow");
    proxy =
        h.start(
            Harness.sidecarOptions(
                "frontend-5d4f-abcde", "frontend", "127.0.0.1", Map.of("app", "frontend")));
    client = Harness.viaProxy(proxy);
    HTTPFault abort =
        HTTPFault.newBuilder()
            .setAbort(
                FaultAbort.newBuilder()
                    .setHttpStatus(418)
                    .setPercentage(FractionalPercent.newBuilder().setNumerator(100)))
            .build();
    HTTPFault delay =
        HTTPFault.newBuilder()
            .setDelay(
                FaultDelay.newBuilder()
                    .setFixedDelay(ms(300))
                    .setPercentage(FractionalPercent.newBuilder().setNumerator(100)))
            .build();
    CorsPolicy cors =
        CorsPolicy.newBuilder()
            .addAllowOriginStringMatch(
                StringMatcher.newBuilder().setExact("https://shop.example.com"))
            .setAllowMethods("GET,POST")
            .setAllowHeaders("x-custom")
            .setMaxAge("600")
            .setExposeHeaders("x-exposed")
            .setAllowCredentials(BoolValue.of(true))
            .build();
    VirtualHost vh =
        serviceVhost(
            "product-service",
            8080,
            Route.newBuilder()
                .setName("premium")
                .setMatch(
                    RouteMatch.newBuilder()
                        .setPrefix("/")
                        .addHeaders(
                            HeaderMatcher.newBuilder()
                                .setName("user-type")
                                .setStringMatch(StringMatcher.newBuilder().setExact("premium"))))
                .setRoute(toCluster(V2, 5000))
                .build(),
            Route.newBuilder()
                .setName("query")
                .setMatch(
                    RouteMatch.newBuilder()
                        .setPrefix("/q")
                        .addQueryParameters(
                            QueryParameterMatcher.newBuilder()
                                .setName("beta")
                                .setStringMatch(StringMatcher.newBuilder().setExact("1"))))
                .setRoute(toCluster(V2, 5000))
                .build(),
            Route.newBuilder()
                .setName("not-internal")
                .setMatch(
                    RouteMatch.newBuilder()
                        .setPrefix("/inv")
                        .addHeaders(
                            HeaderMatcher.newBuilder()
                                .setName("x-internal")
                                .setPresentMatch(true)
                                .setInvertMatch(true)))
                .setRoute(toCluster(V2, 5000))
                .build(),
            route(
                "rewrite",
                prefix("/old/"),
                toCluster(V1, 5000)
                    .setPrefixRewrite("/new/")
                    .setHostRewriteLiteral("rewritten.example")
                    .build()),
            route(
                "regex",
                RouteMatch.newBuilder()
                    .setSafeRegex(RegexMatcher.newBuilder().setRegex("/items/[0-9]+"))
                    .build(),
                toCluster(V1, 5000)
                    .setRegexRewrite(
                        RegexMatchAndSubstitute.newBuilder()
                            .setPattern(RegexMatcher.newBuilder().setRegex("^/items/([0-9]+)$"))
                            .setSubstitution("/v2/items/\\1"))
                    .build()),
            Route.newBuilder()
                .setName("redirect")
                .setMatch(prefix("/moved"))
                .setRedirect(
                    RedirectAction.newBuilder()
                        .setHostRedirect("new.example.com")
                        .setPathRedirect("/here")
                        .setResponseCode(RedirectAction.RedirectResponseCode.FOUND))
                .build(),
            Route.newBuilder()
                .setName("stripped")
                .setMatch(prefix("/stripped"))
                .setRedirect(RedirectAction.newBuilder().setPathRedirect("/s").setStripQuery(true))
                .build(),
            Route.newBuilder()
                .setName("ownquery")
                .setMatch(prefix("/ownquery"))
                .setRedirect(
                    RedirectAction.newBuilder().setPathRedirect("/o?x=1").setStripQuery(true))
                .build(),
            Route.newBuilder()
                .setName("direct")
                .setMatch(prefix("/direct"))
                .setDirectResponse(
                    DirectResponseAction.newBuilder()
                        .setStatus(200)
                        .setBody(DataSource.newBuilder().setInlineString("hello direct")))
                .build(),
            Route.newBuilder()
                .setName("abort")
                .setMatch(prefix("/abort"))
                .putTypedPerFilterConfig("envoy.filters.http.fault", Any.pack(abort))
                .setRoute(toCluster(V1, 0))
                .build(),
            Route.newBuilder()
                .setName("delay")
                .setMatch(prefix("/delay"))
                .putTypedPerFilterConfig("envoy.filters.http.fault", Any.pack(delay))
                .setRoute(toCluster(V1, 0))
                .build(),
            Route.newBuilder()
                .setName("cors")
                .setMatch(prefix("/cors"))
                .putTypedPerFilterConfig("envoy.filters.http.cors", Any.pack(cors))
                .setRoute(toCluster(V1, 0))
                .build(),
            route(
                "mirror",
                prefix("/mirror"),
                toCluster(V1, 0)
                    .addRequestMirrorPolicies(
                        RouteAction.RequestMirrorPolicy.newBuilder()
                            .setCluster(SHADOW)
                            .setRuntimeFraction(
                                RuntimeFractionalPercent.newBuilder()
                                    .setDefaultValue(
                                        FractionalPercent.newBuilder().setNumerator(100))))
                    .build()),
            route(
                "missing", prefix("/missing"), toCluster("outbound|8080|nope|" + HOST, 0).build()),
            Route.newBuilder()
                .setName("headers")
                .setMatch(prefix("/headers"))
                .setRoute(toCluster(V1, 0))
                .addRequestHeadersToAdd(
                    HeaderValueOption.newBuilder()
                        .setHeader(HeaderValue.newBuilder().setKey("x-added").setValue("yes"))
                        .setAppendAction(
                            HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
                .addRequestHeadersToRemove("x-secret")
                .addResponseHeadersToAdd(
                    HeaderValueOption.newBuilder()
                        .setHeader(HeaderValue.newBuilder().setKey("x-resp").setValue("set")))
                .addResponseHeadersToRemove("x-upstream-private")
                .build(),
            route("default", prefix("/"), toCluster(V1, 5000).build()));
    proxy.apply(
        List.of(
            edsCluster(V1, HOST, "product-service"),
            edsCluster(V2, HOST, "product-service"),
            edsCluster(SHADOW, HOST, "product-service")),
        List.of(
            cla(V1, false, null, v1.hostPort()),
            cla(V2, false, null, v2.hostPort()),
            cla(SHADOW, false, null, shadow.hostPort())),
        List.of(),
        List.of(routeConfig("8080", vh)));
  }

  @AfterAll
  static void tearDown() {
    h.close();
  }

  @BeforeEach
  void reset() {
    for (Stub s : List.of(v1, v2, shadow)) {
      s.headers.clear();
      s.uris.clear();
      s.count.set(0);
      s.mode = Stub.Mode.OK;
    }
  }

  HttpResponse<String> get(String path, String... headers) throws Exception {
    return Harness.get(client, "http://product-service:8080" + path, headers);
  }

  @Test
  void headerMatchRoutesPremiumUsersToV2FirstMatchWins() throws Exception {
    assertThat(get("/api/products", "user-type", "premium").body()).isEqualTo("v2");
    assertThat(get("/api/products", "user-type", "basic").body()).isEqualTo("v1");
    assertThat(get("/api/products").body()).isEqualTo("v1");
  }

  @Test
  void queryParameterAndInvertedPresentMatch() throws Exception {
    assertThat(get("/q?beta=1").body()).isEqualTo("v2");
    assertThat(get("/q?beta=0").body()).isEqualTo("v1");
    assertThat(get("/inv").body()).isEqualTo("v2");
    assertThat(get("/inv", "x-internal", "1").body()).isEqualTo("v1");
  }

  @Test
  void prefixAndHostRewriteKeepOriginalPath() throws Exception {
    assertThat(get("/old/thing?a=b").statusCode()).isEqualTo(200);
    assertThat(v1.uris.get(0)).isEqualTo("/new/thing?a=b");
    assertThat(v1.headers.get(0).get("host")).isEqualTo("rewritten.example");
    assertThat(v1.headers.get(0).get("x-envoy-original-path")).isEqualTo("/old/thing");
  }

  @Test
  void regexRewrite() throws Exception {
    assertThat(get("/items/42").statusCode()).isEqualTo(200);
    assertThat(v1.uris.get(0)).isEqualTo("/v2/items/42");
  }

  @Test
  void redirectAndDirectResponse() throws Exception {
    HttpResponse<String> r = get("/moved");
    assertThat(r.statusCode()).isEqualTo(302);
    // Envoy: host_redirect replaces the whole authority, the request's port included.
    assertThat(r.headers().firstValue("location")).contains("http://new.example.com/here");
    // strip_query drops the request's query, not one path_redirect carries
    assertThat(get("/stripped?a=1").headers().firstValue("location"))
        .contains("http://product-service:8080/s");
    assertThat(get("/ownquery?a=1").headers().firstValue("location"))
        .contains("http://product-service:8080/o?x=1");
    HttpResponse<String> d = get("/direct");
    assertThat(d.statusCode()).isEqualTo(200);
    assertThat(d.body()).isEqualTo("hello direct");
    assertThat(v1.count.get()).isZero();
  }

  @Test
  void faultAbortAnswersWithoutUpstreamFlagFI() throws Exception {
    HttpResponse<String> r = get("/abort");
    assertThat(r.statusCode()).isEqualTo(418);
    assertThat(r.body()).isEqualTo("fault filter abort");
    assertThat(v1.count.get()).isZero();
    assertThat(proxy.metrics().prometheus())
        .contains("response_code=\"418\"")
        .contains("response_flags=\"FI\"");
  }

  @Test
  void faultDelayThenUpstreamFlagDI() throws Exception {
    long t0 = System.nanoTime();
    HttpResponse<String> r = get("/delay");
    assertThat((System.nanoTime() - t0) / 1_000_000).isGreaterThanOrEqualTo(290);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(v1.count.get()).isEqualTo(1);
    assertThat(Harness.metricsContaining(proxy, "response_flags=\"DI\""))
        .contains("response_flags=\"DI\"");
  }

  @Test
  void corsPreflightAndSimpleRequest() throws Exception {
    HttpResponse<String> pre =
        Harness.get(
            client,
            "http://product-service:8080/cors",
            "origin",
            "https://shop.example.com",
            "access-control-request-method",
            "POST");
    // java.net.http sends GET here; send a real preflight over a raw socket.
    String raw =
        Harness.raw(
            "127.0.0.1",
            proxy.port("outbound"),
            "OPTIONS http://product-service:8080/cors "
                + "HTTP/1.1\r\nHost: product-service:8080\r\nOrigin: https://shop.example.com\r\n"
                + "Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n");
    assertThat(raw)
        .startsWith("HTTP/1.1 200")
        .contains("access-control-allow-origin: https://shop.example.com")
        .contains("access-control-allow-methods: GET,POST")
        .contains("access-control-max-age: 600");
    assertThat(pre.headers().firstValue("access-control-allow-origin"))
        .contains("https://shop.example.com");
    assertThat(pre.headers().firstValue("access-control-expose-headers")).contains("x-exposed");
    HttpResponse<String> other = get("/cors", "origin", "https://evil.example.com");
    assertThat(other.headers().firstValue("access-control-allow-origin")).isEmpty();
  }

  @Test
  void mirrorIsFireAndForget() throws Exception {
    shadow.mode = Stub.Mode.STALL;
    long t0 = System.nanoTime();
    HttpResponse<String> r = get("/mirror/x");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("v1");
    assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(1000);
    for (int i = 0; i < 50 && shadow.count.get() == 0; i++) {
      Thread.sleep(20);
    }
    assertThat(shadow.count.get()).isEqualTo(1);
    assertThat(shadow.headers.get(0).get("host")).isEqualTo("product-service-shadow:8080");
  }

  @Test
  void unknownClusterIs503NC() throws Exception {
    HttpResponse<String> r = get("/missing");
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(proxy.metrics().prometheus()).contains("response_flags=\"NC\"");
  }

  @Test
  void headerManipulation() throws Exception {
    v1.responseHeaders =
        io.vertx.core.MultiMap.caseInsensitiveMultiMap().add("x-upstream-private", "1");
    HttpResponse<String> r = get("/headers", "x-secret", "s", "x-added", "old");
    v1.responseHeaders = io.vertx.core.MultiMap.caseInsensitiveMultiMap();
    assertThat(v1.headers.get(0).get("x-added")).isEqualTo("yes");
    assertThat(v1.headers.get(0).get("x-secret")).isNull();
    assertThat(r.headers().firstValue("x-resp")).contains("set");
    assertThat(r.headers().firstValue("x-upstream-private")).isEmpty();
  }

  @Test
  void unknownHostOnKnownPortIsNotRouted() throws Exception {
    HttpResponse<String> r = Harness.get(client, "http://nobody:8080/");
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(proxy.metrics().prometheus()).contains("response_flags=\"NR\"");
  }

  @Test
  void noContentAndHeadResponsesCarryNoBody() throws Exception {
    v1.mode = Stub.Mode.FAIL;
    v1.failStatus = 204;
    String raw =
        Harness.raw(
            "127.0.0.1",
            proxy.port("outbound"),
            "GET http://product-service:8080/n HTTP/1.1\r\n"
                + "Host: product-service:8080\r\nConnection: close\r\n\r\n");
    assertThat(raw).startsWith("HTTP/1.1 204").doesNotContainIgnoringCase("transfer-encoding");
    v1.mode = Stub.Mode.OK;
    HttpResponse<String> head =
        client.send(
            java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://product-service:8080/h"))
                .method("HEAD", java.net.http.HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
  }

  @Test
  void connectIsNotRouted() throws Exception {
    String raw =
        Harness.raw(
            "127.0.0.1",
            proxy.port("outbound"),
            "CONNECT product-service:8080 HTTP/1.1\r\n" + "Host: product-service:8080\r\n\r\n");
    assertThat(raw).startsWith("HTTP/1.1 404");
  }
}
