package io.shopmesh.mesh.config.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.Resource;
import java.util.List;

/**
 * SM0103: a VirtualService uses a feature Istio enforces and this mesh does not yet, so the rule
 * would pass here and behave differently on a cluster: {@code tcp} and {@code tls} routes (this
 * mesh's proxy routes HTTP only), {@code delegate} (delegate VirtualServices are not merged), and a
 * VirtualService with no hosts (a delegate, reachable only through {@code delegate}).
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
      JsonNode http = spec.path("http");
      for (int i = 0; i < http.size(); i++) {
        if (!http.get(i).path("delegate").isMissingNode()) {
          out.add(
              vs.diagnostic(
                  Diagnostic.Level.WARNING,
                  CODE,
                  "spec.http[" + i + "].delegate",
                  "Delegation is not enforced by this mesh: Istio would merge the delegate"
                      + " VirtualService's routes here, this mesh builds no route for this rule."));
        }
      }
      if (spec.path("hosts").size() == 0) {
        out.add(
            vs.diagnostic(
                Diagnostic.Level.WARNING,
                CODE,
                "spec.hosts",
                "A VirtualService without hosts is a delegate, used only through delegate, which"
                    + " this mesh does not enforce: its routes apply to no traffic here."));
      }
    }
  }
}
