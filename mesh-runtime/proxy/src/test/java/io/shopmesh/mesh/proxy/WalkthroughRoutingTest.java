package io.shopmesh.mesh.proxy;

import static io.shopmesh.mesh.proxy.Shapes.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The walkthrough's product-vs: 80/20 split, timeout 5s, 3 retries x 2s on gateway errors. */
class WalkthroughRoutingTest {
  static final String HOST = "product-service" + SUFFIX;
  static final String V1 = outbound(8080, "v1", HOST);
  static final String V2 = outbound(8080, "v2", HOST);

  Harness h;
  Proxy proxy;
  Stub v1a;
  Stub v1b;
  Stub v2a;
  HttpClient client;

  @BeforeEach
  void setUp() throws Exception {
    h = new Harness();
    v1a = h.stub("v1a");
    v1b = h.stub("v1b");
    v2a = h.stub("v2a");
    proxy =
        h.start(
            Harness.sidecarOptions(
                "frontend-5d4f-abcde",
                "frontend",
                "127.0.0.1",
                Map.of("app", "frontend", "version", "v1")));
    client = Harness.viaProxy(proxy);
  }

  @AfterEach
  void tearDown() {
    h.close();
  }

  void configure(String... v1Endpoints) {
    RouteConfiguration rc =
        routeConfig(
            "8080",
            serviceVhost(
                "product-service",
                8080,
                route(
                    "product-vs",
                    prefix("/"),
                    weighted(5000, V1, 80, V2, 20)
                        .setRetryPolicy(
                            retry(3, 2000, "gateway-error,connect-failure,refused-stream"))
                        .build())));
    List<Cluster> cds =
        List.of(
            edsCluster(V1, HOST, "product-service"),
            edsCluster(V2, HOST, "product-service"),
            passthrough());
    List<ClusterLoadAssignment> eds =
        List.of(cla(V1, false, null, v1Endpoints), cla(V2, false, null, v2a.hostPort()));
    proxy.apply(cds, eds, List.of(), List.of(rc));
  }

  @Test
  void weightedSplitIsRandomPerRequestWithinBinomialInterval() throws Exception {
    configure(v1a.hostPort(), v1b.hostPort());
    int n = 10_000;
    AtomicInteger v1 = new AtomicInteger();
    AtomicInteger v2 = new AtomicInteger();
    AtomicInteger other = new AtomicInteger();
    // 8 concurrent request streams over keep-alive connections.
    List<CompletableFuture<Void>> workers = new java.util.ArrayList<>();
    for (int w = 0; w < 8; w++) {
      int share = n / 8;
      workers.add(
          CompletableFuture.runAsync(
              () -> {
                for (int i = 0; i < share; i++) {
                  try {
                    HttpResponse<String> r =
                        Harness.get(client, "http://product-service:8080/api/products");
                    switch (r.body()) {
                      case "v1a", "v1b" -> v1.incrementAndGet();
                      case "v2a" -> v2.incrementAndGet();
                      default -> other.incrementAndGet();
                    }
                  } catch (Exception e) {
                    other.incrementAndGet();
                  }
                }
              }));
    }
    CompletableFuture.allOf(workers.toArray(CompletableFuture[]::new)).get();
    assertThat(other.get()).isZero();
    assertThat(v1.get() + v2.get()).isEqualTo(n);
    // 99.9% two-sided: 8000 +- 3.2905 * sqrt(10000 * 0.8 * 0.2) = 8000 +- 131.6
    assertThat(v1.get()).isBetween(7869, 8131);
    // LEAST_REQUEST spreads v1 over both endpoints.
    assertThat(v1a.count.get()).isGreaterThan(1000);
    assertThat(v1b.count.get()).isGreaterThan(1000);
  }

  @Test
  void refusedEndpointIsRetriedOnAnotherAndClientGets200() throws Exception {
    int dead = Harness.refusedPort();
    configure("127.0.0.1:" + dead, v1a.hostPort());
    v2a.mode = Stub.Mode.FAIL; // keep v2 out of the picture: only count v1 outcomes
    int ok = 0;
    for (int i = 0; i < 40; i++) {
      HttpResponse<String> r = Harness.get(client, "http://product-service:8080/p");
      if (r.body().equals("v1a")) {
        ok++;
        assertThat(r.statusCode()).isEqualTo(200);
      }
    }
    assertThat(ok).isGreaterThan(0);
    // Some first tries hit the refused endpoint: those arrive with attempt count 2.
    long retried =
        v1a.headers.stream().filter(m -> "2".equals(m.get("x-envoy-attempt-count"))).count();
    assertThat(retried).isGreaterThan(0);
    assertThat(
            proxy.state().clusterManager().get(V1).hosts().stream()
                .filter(x -> x.port == dead)
                .findFirst()
                .orElseThrow()
                .cxConnectFail
                .get())
        .isGreaterThan(0);
  }

  @Test
  void upstreamThatNeverAnswersGives504AtFiveSecondsAfterThreeTries() throws Exception {
    configure(v1a.hostPort());
    v1a.mode = Stub.Mode.STALL;
    v2a.mode = Stub.Mode.STALL;
    long t0 = System.nanoTime();
    HttpResponse<String> r = Harness.get(client, "http://product-service:8080/slow");
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(r.statusCode()).isEqualTo(504);
    assertThat(r.body()).isEqualTo("upstream request timeout");
    assertThat(ms).isBetween(4900L, 5600L);
    int tries = v1a.count.get() + v2a.count.get();
    // per try 2s, overall 5s: tries at ~0s, ~2s, ~4s; the 5s timeout ends the third.
    assertThat(tries).isEqualTo(3);
    List<String> attempts = new java.util.ArrayList<>();
    v1a.headers.forEach(m -> attempts.add(m.get("x-envoy-attempt-count")));
    v2a.headers.forEach(m -> attempts.add(m.get("x-envoy-attempt-count")));
    assertThat(attempts).containsExactlyInAnyOrder("1", "2", "3");
    assertThat(proxy.metrics().prometheus())
        .contains("response_code=\"504\"")
        .contains("response_flags=\"UT\"");
  }

  @Test
  void noEndpointsGives503NoHealthyUpstream() throws Exception {
    configure();
    v2a.mode = Stub.Mode.FAIL;
    int seen = 0;
    for (int i = 0; i < 20 && seen == 0; i++) {
      HttpResponse<String> r = Harness.get(client, "http://product-service:8080/x");
      if (r.statusCode() == 503 && r.body().equals("no healthy upstream")) {
        seen++;
      }
    }
    assertThat(seen).isEqualTo(1);
    assertThat(proxy.metrics().prometheus()).contains("response_flags=\"UH\"");
  }

  @Test
  void connectFailureAfterRetriesGives503UF() throws Exception {
    int dead = Harness.refusedPort();
    RouteConfiguration rc =
        routeConfig(
            "8080",
            serviceVhost(
                "product-service",
                8080,
                route(
                    "r",
                    prefix("/"),
                    toCluster(V1, 5000).setRetryPolicy(retry(2, 0, "connect-failure")).build())));
    proxy.apply(
        List.of(edsCluster(V1, HOST, "product-service")),
        List.of(cla(V1, false, null, "127.0.0.1:" + dead)),
        List.of(),
        List.of(rc));
    HttpResponse<String> r = Harness.get(client, "http://product-service:8080/x");
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.body())
        .isEqualTo(
            "upstream connect error or disconnect/reset before headers. "
                + "reset reason: connection failure");
    assertThat(proxy.metrics().prometheus()).contains("response_flags=\"UF,URX\"");
    assertThat(proxy.state().clusterManager().get(V1).hosts().get(0).cxConnectFail.get())
        .isEqualTo(3);
  }

  @Test
  void envoyHeadersGoUpAndDown() throws Exception {
    configure(v1a.hostPort());
    v2a.mode = Stub.Mode.OK;
    // a client's x-forwarded-proto is not trusted (xff_num_trusted_hops 0): the proxy sets its own
    HttpResponse<String> r =
        Harness.get(client, "http://product-service:8080/h", "x-forwarded-proto", "https");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("x-envoy-upstream-service-time")).isPresent();
    Stub hit = v1a.count.get() > 0 ? v1a : v2a;
    var up = hit.headers.get(0);
    assertThat(up.get("x-request-id")).matches("[0-9a-f-]{36}");
    assertThat(up.get("x-forwarded-proto")).isEqualTo("http");
    assertThat(up.get("x-envoy-attempt-count")).isEqualTo("1");
    assertThat(up.get("host")).isEqualTo("product-service:8080");
    assertThat(up.get("x-envoy-peer-metadata-id"))
        .startsWith("sidecar~127.0.0.1~frontend-5d4f-abcde.default");
    assertThat(hit.uris.get(0)).isEqualTo("/h");
    // A given x-request-id is kept.
    Harness.get(client, "http://product-service:8080/h", "x-request-id", "abc-123");
    assertThat(
            java.util.stream.Stream.concat(v1a.headers.stream(), v2a.headers.stream())
                .filter(m -> "abc-123".equals(m.get("x-request-id"))))
        .hasSize(1);
  }
}
