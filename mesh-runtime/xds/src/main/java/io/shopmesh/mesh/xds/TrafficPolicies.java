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
 * The traffic policy that applies to one cluster, as Istio's GetPortLevelTrafficPolicy and
 * MergeSubsetTrafficPolicy (destination_rule.go): the first portLevelSettings entry for the port
 * replaces the policy wholesale (connectionPool, loadBalancer, outlierDetection and tls; a field it
 * omits falls back to the default, not to the top-level one); a subset's policy then overrides the
 * fields it sets, and a subset's portLevelSettings entry for the port replaces all four.
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
    TrafficPolicies p = forPort(dr.object().getSpec().getTrafficPolicy(), port);
    if (subset != null && dr.object().getSpec().getSubsets() != null) {
      for (Subset s : dr.object().getSpec().getSubsets()) {
        if (subset.equals(s.getName()) && s.getTrafficPolicy() != null) {
          TrafficPolicy tp = s.getTrafficPolicy();
          TrafficPolicyPortTrafficPolicy pl = portLevel(tp, port);
          p =
              pl != null
                  ? of(pl)
                  : new TrafficPolicies(
                      or(tp.getConnectionPool(), p.connectionPool),
                      or(tp.getLoadBalancer(), p.loadBalancer),
                      or(tp.getOutlierDetection(), p.outlierDetection),
                      or(tp.getTls(), p.tls));
        }
      }
    }
    return p;
  }

  /** The policy for one port: its port-level entry if any (all four fields), else the top level. */
  private static TrafficPolicies forPort(TrafficPolicy tp, int port) {
    if (tp == null) {
      return NONE;
    }
    TrafficPolicyPortTrafficPolicy pl = portLevel(tp, port);
    if (pl != null) {
      return of(pl);
    }
    return new TrafficPolicies(
        tp.getConnectionPool(), tp.getLoadBalancer(), tp.getOutlierDetection(), tp.getTls());
  }

  private static TrafficPolicies of(TrafficPolicyPortTrafficPolicy pl) {
    return new TrafficPolicies(
        pl.getConnectionPool(), pl.getLoadBalancer(), pl.getOutlierDetection(), pl.getTls());
  }

  /** The first portLevelSettings entry whose port number is this port, or null. */
  private static TrafficPolicyPortTrafficPolicy portLevel(TrafficPolicy tp, int port) {
    if (tp.getPortLevelSettings() == null) {
      return null;
    }
    for (TrafficPolicyPortTrafficPolicy pl : tp.getPortLevelSettings()) {
      if (pl.getPort() != null
          && pl.getPort().getNumber() != null
          && pl.getPort().getNumber() == port) {
        return pl;
      }
    }
    return null;
  }

  private static <T> T or(T a, T b) {
    return a != null ? a : b;
  }
}
