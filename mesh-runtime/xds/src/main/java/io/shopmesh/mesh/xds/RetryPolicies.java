package io.shopmesh.mesh.xds;

import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRetry;
import io.shopmesh.mesh.wire.Wellknown;
import java.util.ArrayList;
import java.util.List;

/** Istio's retry.go: the default retry policy and HTTPRetry to Envoy's RetryPolicy. */
public final class RetryPolicies {

  public static final String DEFAULT_RETRY_ON =
      "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";

  private RetryPolicies() {}

  /** Istio's default retry policy (since 1.24 without 503 in retriable_status_codes). */
  public static RetryPolicy defaultRetryPolicy() {
    return RetryPolicy.newBuilder()
        .setRetryOn(DEFAULT_RETRY_ON)
        .setNumRetries(Protos.u32(2))
        .addRetryHostPredicate(
            RetryPolicy.RetryHostPredicate.newBuilder()
                .setName(Wellknown.PREVIOUS_HOSTS)
                .setTypedConfig(Protos.any(PreviousHostsPredicate.getDefaultInstance())))
        .setHostSelectionRetryMaxAttempts(5)
        .build();
  }

  /**
   * Istio's retry.ConvertPolicy: attempts 0 disables retries; numeric retryOn entries become status
   * codes; with consistent hashing (a hash policy) retries do not skip previous hosts.
   */
  static RetryPolicy retryPolicy(HTTPRetry in, boolean hashPolicy) {
    RetryPolicy.Builder dflt = defaultRetryPolicy().toBuilder();
    if (hashPolicy) {
      dflt.clearRetryHostPredicate();
    }
    if (in == null) {
      return dflt.build();
    }
    if (in.getAttempts() == null || in.getAttempts() <= 0) {
      return null;
    }
    RetryPolicy.Builder b = dflt.setNumRetries(Protos.u32(in.getAttempts()));
    if (in.getRetryOn() != null && !in.getRetryOn().isBlank()) {
      List<String> on = new ArrayList<>();
      List<Integer> codes = new ArrayList<>();
      for (String part : in.getRetryOn().split(",")) {
        String p = part.trim();
        if (p.isEmpty()) {
          continue;
        }
        if (p.chars().allMatch(Character::isDigit) && p.length() == 3) {
          codes.add(Integer.parseInt(p));
        } else {
          on.add(p);
        }
      }
      if (!codes.isEmpty() && !on.contains("retriable-status-codes")) {
        on.add("retriable-status-codes");
      }
      b.setRetryOn(String.join(",", on));
      b.clearRetriableStatusCodes().addAllRetriableStatusCodes(codes);
    }
    if (in.getPerTryTimeout() != null) {
      b.setPerTryTimeout(Protos.duration(in.getPerTryTimeout()));
    }
    if (in.getRetryIgnorePreviousHosts() != null) {
      b.clearRetryHostPredicate();
      if (in.getRetryIgnorePreviousHosts()) {
        b.addAllRetryHostPredicate(defaultRetryPolicy().getRetryHostPredicateList());
      }
    }
    if (in.getBackoff() != null) {
      b.setRetryBackOff(
          RetryPolicy.RetryBackOff.newBuilder().setBaseInterval(Protos.duration(in.getBackoff())));
    }
    return b.build();
  }
}
