package io.shopmesh.mesh.config.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.Resource;
import java.util.List;
import java.util.Map;

/**
 * SM0102: a VirtualService match whose {@code sourceLabels} (with its {@code sourceNamespace}, if
 * any) select no workload. Istio builds such a match only for the proxies it selects, so with none
 * the rule applies to no client at all. Matches naming {@code gateways} are skipped: Istio ignores
 * their source labels.
 */
final class SourceLabelsAnalyzer implements Analyzer {

  static final String CODE = "SM0102";

  @Override
  public String name() {
    return "shopmesh.VirtualServiceSourceLabelsAnalyzer";
  }

  @Override
  public void analyze(AnalysisContext ctx, List<Diagnostic> out) {
    for (Resource vs : ctx.istio("VirtualService")) {
      JsonNode http = vs.spec().path("http");
      for (int i = 0; i < http.size(); i++) {
        JsonNode matches = http.get(i).path("match");
        for (int j = 0; j < matches.size(); j++) {
          JsonNode m = matches.get(j);
          Map<String, String> labels = AnalysisContext.labels(m.path("sourceLabels"));
          if (labels.isEmpty() || m.path("gateways").size() > 0) {
            continue;
          }
          String ns = m.path("sourceNamespace").asText("");
          if (selectsAny(ctx.workloads(), labels, ns)) {
            continue;
          }
          out.add(
              vs.diagnostic(
                  Diagnostic.Level.WARNING,
                  CODE,
                  "spec.http[" + i + "].match[" + j + "].sourceLabels",
                  "The sourceLabels "
                      + AnalysisContext.selectorString(labels)
                      + (ns.isEmpty() ? "" : " in namespace " + ns)
                      + " select no workload: the rule applies to no client."));
        }
      }
    }
  }

  private static boolean selectsAny(
      List<Workload> workloads, Map<String, String> labels, String ns) {
    for (Workload w : workloads) {
      if ((ns.isEmpty() || ns.equals(w.namespace())) && w.matches(labels)) {
        return true;
      }
    }
    return false;
  }
}
