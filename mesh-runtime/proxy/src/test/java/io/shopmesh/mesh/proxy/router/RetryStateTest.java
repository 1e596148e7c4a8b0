package io.shopmesh.mesh.proxy.router;

import static io.shopmesh.mesh.proxy.Shapes.retry;
import static io.shopmesh.mesh.proxy.Shapes.staticCluster;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.shopmesh.mesh.proxy.router.RouteTable.RetrySpec;
import io.shopmesh.mesh.proxy.upstream.UpstreamCluster;
import io.vertx.core.Vertx;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class RetryStateTest {
  static final Vertx vertx = Vertx.vertx();

  @AfterAll
  static void tearDown() {
    vertx.close();
  }

  static UpstreamCluster cluster(int maxRetries) {
    Cluster c =
        staticCluster("c", "127.0.0.1", 1).toBuilder()
            .setCircuitBreakers(
                CircuitBreakers.newBuilder()
                    .addThresholds(
                        CircuitBreakers.Thresholds.newBuilder()
                            .setMaxRetries(UInt32Value.of(maxRetries))))
            .build();
    return new UpstreamCluster(c, null);
  }

  @Test
  void numRetriesIsTheBudgetAndEachRetryRunsAfterBackoff() throws Exception {
    UpstreamCluster c = cluster(10);
    RetryState rs = new RetryState(new RetrySpec(retry(2, 0, "5xx")), c, vertx);
    CountDownLatch ran = new CountDownLatch(2);
    assertThat(rs.tryRetry(ran::countDown)).isTrue();
    assertThat(rs.tryRetry(ran::countDown)).isTrue();
    assertThat(rs.tryRetry(ran::countDown)).isFalse();
    assertThat(ran.await(5, TimeUnit.SECONDS)).isTrue();
    assertThat(rs.retriesUsed()).isEqualTo(2);
    assertThat(c.retries()).isEqualTo(2);
  }

  @Test
  void maxRetriesCircuitBreakerLimitsConcurrentRetriesOfTheCluster() throws Exception {
    UpstreamCluster c = cluster(1);
    RetryState a = new RetryState(new RetrySpec(retry(3, 0, "5xx")), c, vertx);
    RetryState b = new RetryState(new RetrySpec(retry(3, 0, "5xx")), c, vertx);
    CountDownLatch ran = new CountDownLatch(1);
    // On the event loop, as the router runs: a's backoff timer cannot fire in between.
    CompletableFuture<boolean[]> taken = new CompletableFuture<>();
    vertx.runOnContext(
        v -> taken.complete(new boolean[] {a.tryRetry(ran::countDown), b.tryRetry(() -> {})}));
    boolean[] r = taken.get(5, TimeUnit.SECONDS);
    assertThat(r[0]).isTrue();
    // a's retry is pending (backing off): the cluster's one retry is taken.
    assertThat(r[1]).isFalse();
    assertThat(ran.await(5, TimeUnit.SECONDS)).isTrue();
    // Released when the retry's attempt starts.
    assertThat(b.tryRetry(() -> {})).isTrue();
  }

  @Test
  void retryOnDecidesWhichOutcomesRetry() {
    UpstreamCluster c = cluster(3);
    RetryState gw = new RetryState(new RetrySpec(retry(1, 0, "gateway-error")), c, vertx);
    assertThat(gw.retriableStatus(503)).isTrue();
    assertThat(gw.retriableStatus(500)).isFalse();
    assertThat(gw.retriableTimeout()).isTrue();
    assertThat(gw.retriableFailure(true, false)).isTrue();
    RetryState cf = new RetryState(new RetrySpec(retry(1, 0, "connect-failure")), c, vertx);
    assertThat(cf.retriableFailure(true, false)).isTrue();
    assertThat(cf.retriableFailure(false, false)).isFalse();
    assertThat(cf.retriableTimeout()).isFalse();
    RetryState rs = new RetryState(new RetrySpec(retry(1, 0, "refused-stream")), c, vertx);
    assertThat(rs.retriableFailure(false, true)).isTrue();
    assertThat(rs.retriableFailure(false, false)).isFalse();
    // retriable-status-codes with the 503 Shapes.retry lists
    RetryState codes =
        new RetryState(new RetrySpec(retry(1, 0, "retriable-status-codes")), c, vertx);
    assertThat(codes.retriableStatus(503)).isTrue();
    assertThat(codes.retriableStatus(502)).isFalse();
  }
}
