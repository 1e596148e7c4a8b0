package io.shopmesh.mesh.config.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.Resource;
import java.util.List;

/**
 * SM0103: a VirtualService uses a feature Istio enforces and this mesh does not everywhere, so the
 * rule would pass here and behave differently on a cluster: {@code tcp} and {@code tls} routes for
 * sidecars ({@code gateways} empty or naming {@code mesh}). Gateways and sidecars with traffic
 * interception (docker compose, Kubernetes) route connections by them; the local mesh's sidecars,
 * which apps reach as an HTTP proxy, see no raw TCP to route.
 */
final class UnenforcedFeatureAnalyzer implements Analyzer {

  static final String CODE = "SM0103";

  @Override
  public String name() {
    return "shopmesh.UnenforcedFeatureAnalyzer";
  }

  @Override
  public void analyze(AnalysisContext ctx, List<Diagnostic> out) {
    for (Resource vs : ctx.istio("VirtualService")) {
      JsonNode spec = vs.spec();
      JsonNode gateways = spec.path("gateways");
      boolean forSidecars = gateways.size() == 0;
      for (JsonNode g : gateways) {
        forSidecars |= g.asText().equals("mesh");
      }
      for (String kind : List.of("tcp", "tls")) {
        if (forSidecars && spec.path(kind).size() > 0) {
          out.add(
              vs.diagnostic(
                  Diagnostic.Level.WARNING,
                  CODE,
                  "spec." + kind,
                  "The "
                      + kind
                      + " routes are not enforced by the local mesh's sidecars (apps reach them as an"
                      + " HTTP proxy, with no traffic interception): Istio routes these connections"
                      + " by them, as this mesh does at gateways and in docker compose or on"
                      + " Kubernetes."));
        }
      }
    }
  }
}
