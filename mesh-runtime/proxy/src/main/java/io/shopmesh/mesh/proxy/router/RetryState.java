package io.shopmesh.mesh.proxy.router;

import io.shopmesh.mesh.proxy.router.RouteTable.RetrySpec;
import io.shopmesh.mesh.proxy.upstream.UpstreamCluster;
import io.vertx.core.Vertx;

/**
 * One request's retries under a retry_policy (Envoy's RetryStateImpl): which outcomes retry_on
 * covers, the num_retries budget, the cluster's max_retries circuit breaker, and the jittered
 * backoff before the next attempt.
 */
public final class RetryState {
  private final RetrySpec spec;
  private final UpstreamCluster cluster;
  private final Vertx vertx;
  private int retriesUsed;

  public RetryState(RetrySpec spec, UpstreamCluster cluster, Vertx vertx) {
    this.spec = spec;
    this.cluster = cluster;
    this.vertx = vertx;
  }

  /** A retry state for a route's policy, or null when requests to it are not retried. */
  public static RetryState of(RetrySpec spec, UpstreamCluster cluster, Vertx vertx) {
    return spec == null ? null : new RetryState(spec, cluster, vertx);
  }

  public long perTryTimeoutMs() {
    return spec.perTryTimeoutMs;
  }

  /** retry_host_predicate previous_hosts: avoid hosts already tried. */
  public boolean avoidPreviousHosts() {
    return spec.previousHosts;
  }

  public int retriesUsed() {
    return retriesUsed;
  }

  public boolean retriableStatus(int status) {
    return spec.retriableStatus(status);
  }

  /** A per-try timeout counts as a 504 from upstream. */
  public boolean retriableTimeout() {
    return spec.retriableTimeout();
  }

  /** A connect failure, a refused stream (HTTP/2 REFUSED_STREAM) or a reset before headers. */
  public boolean retriableFailure(boolean connectFailure, boolean refusedStream) {
    if (connectFailure) {
      return spec.retriableConnectFailure();
    }
    return refusedStream ? spec.onRefusedStream || spec.retriableReset() : spec.retriableReset();
  }

  /**
   * Schedules {@code attempt} after the backoff when num_retries and the cluster's max_retries
   * allow another try; false (nothing scheduled) when they do not.
   */
  public boolean tryRetry(Runnable attempt) {
    if (retriesUsed >= spec.numRetries || !cluster.tryAcquireRetry()) {
      return false;
    }
    retriesUsed++;
    long delay = spec.backoffMs(retriesUsed);
    vertx.setTimer(
        Math.max(1, delay),
        t -> {
          cluster.releaseRetry();
          attempt.run();
        });
    return true;
  }
}
