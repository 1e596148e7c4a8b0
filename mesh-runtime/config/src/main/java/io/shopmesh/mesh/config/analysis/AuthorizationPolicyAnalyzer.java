package io.shopmesh.mesh.config.analysis;

import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.Resource;
import java.util.List;
import java.util.Map;

/**
 * IST0127 NoMatchingWorkloadsFound for AuthorizationPolicies, as Istio's
 * authz.AuthorizationPoliciesAnalyzer: a policy whose selector matches no pod (of its namespace; of
 * the whole mesh for a root-namespace policy), or a selectorless policy of a namespace without
 * pods, applies to nothing.
 */
final class AuthorizationPolicyAnalyzer implements Analyzer {

  static final String CODE = "IST0127";
  static final String ROOT_NAMESPACE = "istio-system";

  @Override
  public String name() {
    return "auth.AuthorizationPoliciesAnalyzer";
  }

  @Override
  public void analyze(AnalysisContext ctx, List<Diagnostic> out) {
    for (Resource r : ctx.resources()) {
      if (!r.is(ConfigLoader.ISTIO_SECURITY, "AuthorizationPolicy")) {
        continue;
      }
      String ns = r.namespace();
      boolean hasSelector = r.spec().has("selector");
      Map<String, String> selector =
          AnalysisContext.labels(r.spec().path("selector").path("matchLabels"));
      boolean root = ROOT_NAMESPACE.equals(ns);
      if (root && !hasSelector) {
        continue;
      }
      boolean found = false;
      for (Workload w : ctx.workloads()) {
        if ((root || w.namespace().equals(ns)) && (!hasSelector || w.matches(selector))) {
          found = true;
          break;
        }
      }
      if (!found) {
        out.add(
            r.diagnostic(
                Diagnostic.Level.WARNING,
                CODE,
                hasSelector ? "spec.selector" : null,
                "No matching workloads for this resource with the following labels: "
                    + (hasSelector ? AnalysisContext.selectorString(selector) : "")));
      }
    }
  }
}
