package io.shopmesh.mesh.xds;

import io.fabric8.istio.api.api.networking.v1alpha3.ClientTLSSettings;
import io.fabric8.istio.api.api.networking.v1alpha3.ConnectionPoolSettings;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettings;
import io.fabric8.istio.api.api.networking.v1alpha3.OutlierDetection;
import io.fabric8.istio.api.api.networking.v1alpha3.Subset;
import io.fabric8.istio.api.api.networking.v1alpha3.TrafficPolicy;
import io.fabric8.istio.api.api.networking.v1alpha3.TrafficPolicyPortTrafficPolicy;
import io.fabric8.istio.api.networking.v1.DestinationRule;
import io.shopmesh.mesh.config.Located;

/**
 * The traffic policy that applies to one cluster, merged as Istio's MergeTrafficPolicy does: the
 * top-level policy, overridden field by field by its portLevelSettings for the port, then by the
 * subset's policy and the subset's portLevelSettings.
 */
record TrafficPolicies(
    ConnectionPoolSettings connectionPool,
    LoadBalancerSettings loadBalancer,
    OutlierDetection outlierDetection,
    ClientTLSSettings tls) {

  static final TrafficPolicies NONE = new TrafficPolicies(null, null, null, null);

  static TrafficPolicies forCluster(Located<DestinationRule> dr, String subset, int port) {
    if (dr == null || dr.object().getSpec() == null) {
      return NONE;
    }
    TrafficPolicies p = NONE.with(dr.object().getSpec().getTrafficPolicy(), port);
    if (subset != null && dr.object().getSpec().getSubsets() != null) {
      for (Subset s : dr.object().getSpec().getSubsets()) {
        if (subset.equals(s.getName())) {
          p = p.with(s.getTrafficPolicy(), port);
        }
      }
    }
    return p;
  }

  private TrafficPolicies with(TrafficPolicy tp, int port) {
    if (tp == null) {
      return this;
    }
    TrafficPolicies r =
        new TrafficPolicies(
            or(tp.getConnectionPool(), connectionPool), or(tp.getLoadBalancer(), loadBalancer),
            or(tp.getOutlierDetection(), outlierDetection), or(tp.getTls(), tls));
    if (tp.getPortLevelSettings() != null) {
      for (TrafficPolicyPortTrafficPolicy pl : tp.getPortLevelSettings()) {
        if (pl.getPort() != null
            && pl.getPort().getNumber() != null
            && pl.getPort().getNumber() == port) {
          r =
              new TrafficPolicies(
                  or(pl.getConnectionPool(), r.connectionPool),
                  or(pl.getLoadBalancer(), r.loadBalancer),
                  or(pl.getOutlierDetection(), r.outlierDetection),
                  or(pl.getTls(), r.tls));
        }
      }
    }
    return r;
  }

  private static <T> T or(T a, T b) {
    return a != null ? a : b;
  }
}
