package io.shopmesh.mesh.config.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.Resource;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Istio's destinationrule.* analyzers. */
final class DestinationRuleAnalyzers {

  private DestinationRuleAnalyzers() {}

  /** IST0174 (host matches no service), IST0173 (a subset selects no pods). */
  static final class PodNotSelected implements Analyzer {
    @Override
    public String name() {
      return "destinationrule.PodNotSelectedAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext ctx, List<Diagnostic> out) {
      HostRegistry registry = new HostRegistry(ctx);
      for (Resource dr : ctx.istio("DestinationRule")) {
        String host = dr.spec().path("host").asText("");
        HostRegistry.Entry e = registry.lookup(dr.namespace(), dr.spec().path("exportTo"), host);
        if (e == null) {
          out.add(Messages.unknownDestinationRuleHost(dr, "spec.host", host));
          continue;
        }
        JsonNode subsets = dr.spec().path("subsets");
        for (int i = 0; i < subsets.size(); i++) {
          Map<String, String> selector = new TreeMap<>(e.workloadSelector());
          selector.putAll(AnalysisContext.labels(subsets.get(i).path("labels")));
          boolean matched = false;
          for (Workload w : ctx.workloads()) {
            if (w.matches(selector)) {
              matched = true;
              break;
            }
          }
          if (!matched) {
            out.add(
                Messages.subsetNotSelectPods(
                    dr, "spec.subsets[" + i + "].name", subsets.get(i).path("name").asText("")));
          }
        }
      }
    }
  }

  /** IST0128 / IST0129: TLS to a server without a CA to check its certificate. */
  static final class CaCertificate implements Analyzer {
    @Override
    public String name() {
      return "destinationrule.CaCertificateAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext ctx, List<Diagnostic> out) {
      for (Resource dr : ctx.istio("DestinationRule")) {
        JsonNode spec = dr.spec();
        boolean selector = spec.has("workloadSelector");
        String host = spec.path("host").asText("");
        JsonNode tls = spec.path("trafficPolicy").path("tls");
        if (unverified(tls, selector)) {
          out.add(
              Messages.noServerCertVerificationDestination(
                  dr, "spec.trafficPolicy.tls.mode", tls.path("mode").asText(), host));
        }
        JsonNode pls = spec.path("trafficPolicy").path("portLevelSettings");
        for (int i = 0; i < pls.size(); i++) {
          JsonNode ptls = pls.get(i).path("tls");
          if (unverified(ptls, selector)) {
            JsonNode port = pls.get(i).path("port");
            String portText = port.has("number") ? "number:" + port.get("number").asLong() : "";
            out.add(
                Messages.noServerCertVerificationPort(
                    dr,
                    "spec.trafficPolicy.portLevelSettings[" + i + "].tls.mode",
                    ptls.path("mode").asText(),
                    host,
                    portText));
          }
        }
      }
    }

    private static boolean unverified(JsonNode tls, boolean selector) {
      String mode = tls.path("mode").asText("");
      if (!mode.equals("SIMPLE") && !mode.equals("MUTUAL")) {
        return false;
      }
      return tls.path("caCertificates").asText("").isEmpty()
          && !(!tls.path("credentialName").asText("").isEmpty() && selector);
    }
  }
}
