package io.shopmesh.mesh.config.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.Resource;
import java.util.List;

/**
 * SM0103: a VirtualService uses a feature Istio enforces and this mesh does not yet, so the rule
 * would pass here and behave differently on a cluster: {@code tcp} and {@code tls} routes (this
 * mesh's proxy routes HTTP only).
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
      for (String kind : List.of("tcp", "tls")) {
        if (spec.path(kind).size() > 0) {
          out.add(
              vs.diagnostic(
                  Diagnostic.Level.WARNING,
                  CODE,
                  "spec." + kind,
                  "The "
                      + kind
                      + " routes are not enforced by this mesh (its proxy routes HTTP only):"
                      + " Istio would route these connections by them, this mesh does not."));
        }
      }
    }
  }
}
