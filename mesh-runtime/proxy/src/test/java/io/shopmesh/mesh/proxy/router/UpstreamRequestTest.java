package io.shopmesh.mesh.proxy.router;

import static io.shopmesh.mesh.proxy.Shapes.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.shopmesh.mesh.proxy.Harness;
import io.shopmesh.mesh.proxy.Proxy;
import io.shopmesh.mesh.proxy.Stub;
import io.shopmesh.mesh.proxy.upstream.UpstreamCluster;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Attempts, retries, per-try timeouts and circuit-breaker leases over real sockets. */
class UpstreamRequestTest {
  static final String HOST = "product-service" + SUFFIX;
  static final String C = outbound(8080, "", HOST);
  static Harness h;
  static Proxy proxy;
  static Stub a;
  static Stub b;
  static HttpClient client;

  @BeforeAll
  static void setUp() throws Exception {
    h = new Harness();
    a = h.stub("a");
    b = h.stub("b");
    proxy =
        h.start(Harness.sidecarOptions("frontend-5d4f-abcde", "frontend", "127.0.0.1", Map.of()));
    RouteConfiguration rc =
        routeConfig(
            "8080",
            serviceVhost(
                "product-service",
                8080,
                route(
                    "timeout",
                    prefix("/slow"),
                    toCluster(C, 20_000).setRetryPolicy(retry(1, 1500, "gateway-error")).build()),
                route(
                    "r",
                    prefix("/"),
                    toCluster(C, 5000).setRetryPolicy(retry(2, 0, "gateway-error")).build())));
    proxy.apply(
        List.of(edsCluster(C, HOST, "product-service")),
        List.of(cla(C, false, null, a.hostPort(), b.hostPort())),
        List.of(),
        List.of(rc));
    client = Harness.viaProxy(proxy);
  }

  @AfterAll
  static void tearDown() {
    h.close();
  }

  @BeforeEach
  void reset() {
    a.mode = Stub.Mode.OK;
    b.mode = Stub.Mode.OK;
    a.count.set(0);
    b.count.set(0);
    a.headers.clear();
    b.headers.clear();
  }

  static UpstreamCluster cluster() {
    return proxy.state().clusterManager().get(C);
  }

  static void leasesReturned() throws InterruptedException {
    for (int i = 0; i < 100 && cluster().activeRequests() > 0; i++) {
      Thread.sleep(20);
    }
    assertThat(cluster().activeRequests()).isZero();
  }

  @Test
  void retriesAnotherHostAfterA503AndCountsEachAttempt() throws Exception {
    a.mode = Stub.Mode.FAIL;
    long total = cluster().rqTotal();
    for (int i = 0; i < 10; i++) {
      HttpResponse<String> r = Harness.get(client, "http://product-service:8080/x");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo("b");
    }
    // previous_hosts: a retry never goes back to the host that failed.
    assertThat(a.count.get()).isLessThanOrEqualTo(10);
    assertThat(b.headers.stream().map(m -> m.get("x-envoy-attempt-count"))).containsOnly("1", "2");
    assertThat(cluster().rqTotal() - total).isEqualTo(10L + a.count.get());
    leasesReturned();
  }

  @Test
  void exhaustedRetriesAnswerTheLastUpstreamStatusWithUrx() throws Exception {
    a.mode = Stub.Mode.FAIL;
    b.mode = Stub.Mode.FAIL;
    HttpResponse<String> r = Harness.get(client, "http://product-service:8080/x");
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(a.count.get() + b.count.get()).isEqualTo(3);
    assertThat(Harness.metricsContaining(proxy, "response_flags=\"URX\"")).isNotEmpty();
    leasesReturned();
  }

  @Test
  void perTryTimeoutRetriesThenTheRouteTimeoutEndsIt() throws Exception {
    a.mode = Stub.Mode.STALL;
    b.mode = Stub.Mode.STALL;
    long t0 = System.nanoTime();
    HttpResponse<String> r = Harness.get(client, "http://product-service:8080/slow");
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(r.statusCode()).isEqualTo(504);
    assertThat(r.body()).isEqualTo("upstream request timeout");
    // two tries of 1.5 s each (one retry): the last per-try timeout answers, not the route's 20 s
    assertThat(a.count.get() + b.count.get()).isEqualTo(2);
    assertThat(ms).isBetween(3000L, 15_000L);
    assertThat(
            (a.headers.isEmpty() ? b.headers : a.headers)
                .get(0)
                .get("x-envoy-expected-rq-timeout-ms"))
        .isEqualTo("1500");
    leasesReturned();
  }
}
