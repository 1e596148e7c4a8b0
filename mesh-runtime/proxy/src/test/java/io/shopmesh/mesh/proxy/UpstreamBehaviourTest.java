package io.shopmesh.mesh.proxy;

import static io.shopmesh.mesh.proxy.Shapes.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.ExplicitHttpConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Load balancers, circuit breakers, connection limits and outlier detection. */
class UpstreamBehaviourTest {
  static final String HOST = "product-service" + SUFFIX;
  static final String C = outbound(8080, "", HOST);

  Harness h;
  Proxy proxy;
  Stub a;
  Stub b;
  HttpClient client;

  @BeforeEach
  void setUp() throws Exception {
    h = new Harness();
    a = h.stub("a");
    b = h.stub("b");
    proxy =
        h.start(Harness.sidecarOptions("frontend-5d4f-abcde", "frontend", "127.0.0.1", Map.of()));
    client = Harness.viaProxy(proxy);
  }

  @AfterEach
  void tearDown() {
    h.close();
  }

  void apply(Cluster c, RouteAction.Builder action, String... endpoints) {
    proxy.apply(
        List.of(c),
        List.of(cla(C, false, null, endpoints)),
        List.of(),
        List.of(
            routeConfig(
                "8080",
                serviceVhost("product-service", 8080, route("r", prefix("/"), action.build())))));
  }

  String get(String... headers) throws Exception {
    return Harness.get(client, "http://product-service:8080/", headers).body();
  }

  @Test
  void roundRobinAlternates() throws Exception {
    apply(
        edsCluster(C, HOST, "product-service").toBuilder()
            .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
            .build(),
        toCluster(C, 0),
        a.hostPort(),
        b.hostPort());
    List<String> seen = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      seen.add(get());
    }
    assertThat(seen.subList(0, 2)).containsExactlyInAnyOrder("a", "b");
    for (int i = 2; i < 6; i++) {
      assertThat(seen.get(i)).isEqualTo(seen.get(i - 2));
    }
  }

  @Test
  void randomUsesBothEndpoints() throws Exception {
    apply(
        edsCluster(C, HOST, "product-service").toBuilder()
            .setLbPolicy(Cluster.LbPolicy.RANDOM)
            .build(),
        toCluster(C, 0),
        a.hostPort(),
        b.hostPort());
    for (int i = 0; i < 60; i++) {
      get();
    }
    assertThat(a.count.get()).isGreaterThan(5);
    assertThat(b.count.get()).isGreaterThan(5);
  }

  @Test
  void ringHashAndMaglevAreConsistentOnTheHashHeader() throws Exception {
    for (Cluster.LbPolicy p : List.of(Cluster.LbPolicy.RING_HASH, Cluster.LbPolicy.MAGLEV)) {
      apply(
          edsCluster(C, HOST, "product-service").toBuilder().setLbPolicy(p).build(),
          toCluster(C, 0)
              .addHashPolicy(
                  RouteAction.HashPolicy.newBuilder()
                      .setHeader(
                          RouteAction.HashPolicy.Header.newBuilder().setHeaderName("x-user"))),
          a.hostPort(),
          b.hostPort());
      java.util.Set<String> targets = new java.util.HashSet<>();
      for (int u = 0; u < 20; u++) {
        String first = get("x-user", "user-" + u);
        for (int i = 0; i < 4; i++) {
          assertThat(get("x-user", "user-" + u)).as(p + " user-" + u).isEqualTo(first);
        }
        targets.add(first);
      }
      assertThat(targets).as(p.name()).containsExactlyInAnyOrder("a", "b");
    }
  }

  @Test
  void maxRequestsCircuitBreakerAnswers503UO() throws Exception {
    Cluster c =
        edsCluster(C, HOST, "product-service").toBuilder()
            .setCircuitBreakers(
                CircuitBreakers.newBuilder()
                    .addThresholds(
                        CircuitBreakers.Thresholds.newBuilder()
                            .setMaxRequests(UInt32Value.of(1))
                            .setMaxConnections(UInt32Value.of(1))
                            .setMaxPendingRequests(UInt32Value.of(1))))
            .build();
    apply(c, toCluster(C, 0), a.hostPort());
    a.mode = Stub.Mode.DELAY;
    a.delayMs = 600;
    CompletableFuture<HttpResponse<String>> first =
        client.sendAsync(
            HttpRequest.newBuilder(URI.create("http://product-service:8080/1")).build(),
            HttpResponse.BodyHandlers.ofString());
    for (int i = 0; i < 100 && a.count.get() == 0; i++) {
      Thread.sleep(10);
    }
    HttpResponse<String> second = Harness.get(client, "http://product-service:8080/2");
    assertThat(second.statusCode()).isEqualTo(503);
    assertThat(second.body()).contains("overflow");
    assertThat(first.get().statusCode()).isEqualTo(200);
    assertThat(proxy.metrics().prometheus()).contains("response_flags=\"UO\"");
  }

  @Test
  void maxRequestsPerConnectionRecyclesConnections() throws Exception {
    Cluster c =
        edsCluster(C, HOST, "product-service").toBuilder()
            .putTypedExtensionProtocolOptions(
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                com.google.protobuf.Any.pack(
                    io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                        .newBuilder()
                        .setCommonHttpProtocolOptions(
                            HttpProtocolOptions.newBuilder()
                                .setMaxRequestsPerConnection(UInt32Value.of(2)))
                        .setExplicitHttpConfig(
                            ExplicitHttpConfig.newBuilder()
                                .setHttpProtocolOptions(
                                    io.envoyproxy.envoy.config.core.v3.Http1ProtocolOptions
                                        .getDefaultInstance()))
                        .build()))
            .build();
    apply(c, toCluster(C, 0), a.hostPort());
    for (int i = 0; i < 6; i++) {
      assertThat(get()).isEqualTo("a");
    }
    // 6 sequential requests, 2 per connection: 3 upstream connections.
    assertThat(a.clientPorts).hasSize(3);
  }

  @Test
  void outlierDetectionEjectsAndClustersShowsIt() throws Exception {
    Cluster c =
        edsCluster(C, HOST, "product-service").toBuilder()
            .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
            .setOutlierDetection(
                OutlierDetection.newBuilder()
                    .setConsecutive5Xx(UInt32Value.of(3))
                    .setBaseEjectionTime(ms(30_000))
                    .setMaxEjectionPercent(UInt32Value.of(100))
                    .setInterval(ms(1000)))
            .build();
    apply(c, toCluster(C, 0), a.hostPort(), b.hostPort());
    b.mode = Stub.Mode.FAIL;
    b.failStatus = 500;
    for (int i = 0; i < 6; i++) {
      get();
    }
    assertThat(b.count.get()).isEqualTo(3);
    for (int i = 0; i < 10; i++) {
      assertThat(get()).isEqualTo("a");
    }
    String clusters =
        Harness.get(Harness.direct(), "http://127.0.0.1:" + proxy.port("admin") + "/clusters")
            .body();
    assertThat(clusters)
        .contains(C + "::" + b.hostPort() + "::health_flags::/failed_outlier_check")
        .contains(C + "::" + a.hostPort() + "::health_flags::healthy");
  }

  @Test
  void h2cUpstreamWhenClusterSaysHttp2() throws Exception {
    Cluster c =
        edsCluster(C, HOST, "product-service").toBuilder()
            .putTypedExtensionProtocolOptions(
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                com.google.protobuf.Any.pack(
                    io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                        .newBuilder()
                        .setExplicitHttpConfig(
                            ExplicitHttpConfig.newBuilder()
                                .setHttp2ProtocolOptions(
                                    io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions
                                        .getDefaultInstance()))
                        .build()))
            .build();
    apply(c, toCluster(C, 0), a.hostPort());
    assertThat(get()).isEqualTo("a");
  }

  @Test
  void retriableStatusCodesAnd5xxRetryOnAnotherHost() throws Exception {
    for (String retryOn : List.of("retriable-status-codes", "5xx", "gateway-error")) {
      apply(
          edsCluster(C, HOST, "product-service"),
          toCluster(C, 0).setRetryPolicy(retry(2, 0, retryOn)),
          a.hostPort(),
          b.hostPort());
      b.mode = Stub.Mode.FAIL;
      b.failStatus = 503;
      for (int i = 0; i < 10; i++) {
        assertThat(get()).as(retryOn).isEqualTo("a");
      }
    }
    // Not retried when the condition does not cover the status.
    apply(
        edsCluster(C, HOST, "product-service"),
        toCluster(C, 0).setRetryPolicy(retry(2, 0, "connect-failure")),
        b.hostPort());
    HttpResponse<String> r = Harness.get(client, "http://product-service:8080/");
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.body()).isEqualTo("b failed");
  }

  @Test
  void resetIsRetriedWhenAsked() throws Exception {
    apply(
        edsCluster(C, HOST, "product-service"),
        toCluster(C, 0).setRetryPolicy(retry(3, 0, "reset")),
        a.hostPort(),
        b.hostPort());
    b.mode = Stub.Mode.RESET;
    for (int i = 0; i < 10; i++) {
      assertThat(get()).isEqualTo("a");
    }
  }

  @Test
  void perTryTimeoutAloneEndsIn504UT() throws Exception {
    apply(
        edsCluster(C, HOST, "product-service"),
        toCluster(C, 0).setRetryPolicy(retry(1, 200, "gateway-error")),
        a.hostPort());
    a.mode = Stub.Mode.STALL;
    long t0 = System.nanoTime();
    HttpResponse<String> r = Harness.get(client, "http://product-service:8080/");
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(r.statusCode()).isEqualTo(504);
    assertThat(r.body()).isEqualTo("upstream request timeout");
    assertThat(a.count.get()).isEqualTo(2);
    assertThat(ms).isBetween(390L, 1500L);
    assertThat(Harness.metricsContaining(proxy, "response_flags=\"UT\""))
        .contains("response_flags=\"UT\"");
  }

  @Test
  void ejectedHostReturnsAfterItsEjectionTime() throws Exception {
    Cluster c =
        edsCluster(C, HOST, "product-service").toBuilder()
            .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
            .setOutlierDetection(
                OutlierDetection.newBuilder()
                    .setConsecutive5Xx(UInt32Value.of(2))
                    .setBaseEjectionTime(ms(400))
                    .setMaxEjectionPercent(UInt32Value.of(50)))
            .build();
    apply(c, toCluster(C, 0), a.hostPort(), b.hostPort());
    b.mode = Stub.Mode.FAIL;
    b.failStatus = 502;
    for (int i = 0; i < 4; i++) {
      get();
    }
    var host =
        proxy.state().clusterManager().get(C).hosts().stream()
            .filter(x -> x.port == b.port())
            .findFirst()
            .orElseThrow();
    assertThat(host.ejected()).isTrue();
    b.mode = Stub.Mode.OK;
    Thread.sleep(500);
    assertThat(host.ejected()).isFalse();
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (int i = 0; i < 4; i++) {
      seen.add(get());
    }
    assertThat(seen).containsExactlyInAnyOrder("a", "b");
  }

  @Test
  void faultAbortPercentageIsSampledPerRequest() throws Exception {
    com.google.protobuf.Any fault =
        com.google.protobuf.Any.pack(
            io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault.newBuilder()
                .setAbort(
                    io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort.newBuilder()
                        .setHttpStatus(503)
                        .setPercentage(
                            io.envoyproxy.envoy.type.v3.FractionalPercent.newBuilder()
                                .setNumerator(300000)
                                .setDenominator(
                                    io.envoyproxy.envoy.type.v3.FractionalPercent.DenominatorType
                                        .MILLION)))
                .build());
    proxy.apply(
        List.of(edsCluster(C, HOST, "product-service")),
        List.of(cla(C, false, null, a.hostPort())),
        List.of(),
        List.of(
            routeConfig(
                "8080",
                serviceVhost(
                    "product-service",
                    8080,
                    io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
                        .setName("f")
                        .setMatch(prefix("/"))
                        .putTypedPerFilterConfig("envoy.filters.http.fault", fault)
                        .setRoute(toCluster(C, 0))
                        .build()))));
    int aborted = 0;
    for (int i = 0; i < 1000; i++) {
      HttpResponse<String> r = Harness.get(client, "http://product-service:8080/");
      if (r.statusCode() == 503 && r.body().equals("fault filter abort")) {
        aborted++;
      }
    }
    // 30% of 1000 at 99.9%: 300 +- 3.29 * sqrt(1000 * 0.3 * 0.7) = 300 +- 48
    assertThat(aborted).isBetween(252, 348);
    assertThat(a.count.get()).isEqualTo(1000 - aborted);
  }
}
