package io.shopmesh.mesh.config.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.Resource;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * SM0104: an {@code http[].delegate} that names no delegate VirtualService (none of that name and
 * namespace, or one with hosts, which is a root and never a delegate), or one not exported to the
 * root's namespace. istiod then drops the root rule (its log: "delegate virtual service ... not
 * found" / "is not exported to"), so the traffic it was meant for falls through to the next rule.
 */
final class DelegateAnalyzer implements Analyzer {

  static final String CODE = "SM0104";

  @Override
  public String name() {
    return "shopmesh.VirtualServiceDelegateAnalyzer";
  }

  @Override
  public void analyze(AnalysisContext ctx, List<Diagnostic> out) {
    Map<String, Resource> delegates = new HashMap<>();
    for (Resource vs : ctx.istio("VirtualService")) {
      if (vs.spec().path("hosts").size() == 0) {
        delegates.put(vs.namespace() + "/" + vs.name(), vs);
      }
    }
    for (Resource vs : ctx.istio("VirtualService")) {
      JsonNode http = vs.spec().path("http");
      for (int i = 0; i < http.size(); i++) {
        JsonNode d = http.get(i).path("delegate");
        if (d.isMissingNode() || d.isNull() || vs.spec().path("hosts").size() == 0) {
          continue;
        }
        String ns = d.path("namespace").asText("");
        if (ns.isEmpty()) {
          ns = vs.namespace();
        }
        String key = ns + "/" + d.path("name").asText("");
        Resource delegate = delegates.get(key);
        String path = "spec.http[" + i + "].delegate";
        if (delegate == null) {
          out.add(
              vs.diagnostic(
                  Diagnostic.Level.WARNING,
                  CODE,
                  path,
                  "The delegate VirtualService "
                      + key
                      + " is not found (a delegate has no hosts): Istio drops this rule, its"
                      + " traffic goes to the next rule."));
        } else if (!exportedTo(delegate, vs.namespace())) {
          out.add(
              vs.diagnostic(
                  Diagnostic.Level.WARNING,
                  CODE,
                  path,
                  "The delegate VirtualService "
                      + key
                      + " is not exported to namespace "
                      + vs.namespace()
                      + ": Istio drops this rule, its traffic goes to the next rule."));
        }
      }
    }
  }

  private static boolean exportedTo(Resource delegate, String namespace) {
    JsonNode exportTo = delegate.spec().path("exportTo");
    if (exportTo.size() == 0) {
      return true;
    }
    for (JsonNode e : exportTo) {
      String v = ".".equals(e.asText()) ? delegate.namespace() : e.asText();
      if ("*".equals(v) || v.equals(namespace)) {
        return true;
      }
    }
    return false;
  }
}
