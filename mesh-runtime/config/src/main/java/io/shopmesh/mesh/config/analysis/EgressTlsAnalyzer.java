package io.shopmesh.mesh.config.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.Resource;
import io.shopmesh.mesh.config.model.MeshService;
import java.util.ArrayList;
import java.util.List;

/**
 * SM0101: HTTP route rules (timeouts, retries, faults...) sent to a ServiceEntry port declared
 * HTTPS or TLS. The application then speaks TLS itself, the sidecar only sees encrypted bytes and
 * Istio builds no HTTP route for that port, so the rules silently do nothing. The working pattern
 * is egress TLS origination: plain HTTP from the app, TLS from the sidecar.
 */
final class EgressTlsAnalyzer implements Analyzer {

  static final String CODE = "SM0101";

  @Override
  public String name() {
    return "shopmesh.EgressTlsOriginationAnalyzer";
  }

  @Override
  public void analyze(AnalysisContext ctx, List<Diagnostic> out) {
    HostRegistry registry = new HostRegistry(ctx);
    for (Resource vs : ctx.istio("VirtualService")) {
      JsonNode http = vs.spec().path("http");
      for (int i = 0; i < http.size(); i++) {
        JsonNode rule = http.get(i);
        JsonNode route = rule.path("route");
        for (int j = 0; j < route.size(); j++) {
          JsonNode d = route.get(j).path("destination");
          String host = d.path("host").asText("");
          HostRegistry.Entry e = registry.lookup(vs.namespace(), vs.spec().path("exportTo"), host);
          if (e == null || e.serviceEntry() == null) {
            continue;
          }
          MeshService.Port port = null;
          if (d.path("port").has("number")) {
            long n = d.path("port").path("number").asLong();
            port = e.ports().stream().filter(p -> p.port() == n).findFirst().orElse(null);
          } else if (e.ports().size() == 1) {
            port = e.ports().get(0);
          }
          if (port == null || !port.protocol().isTls()) {
            continue;
          }
          String path =
              "spec.http["
                  + i
                  + "].route["
                  + j
                  + "].destination"
                  + (d.path("port").has("number") ? ".port.number" : ".host");
          out.add(
              vs.diagnostic(
                  Diagnostic.Level.WARNING,
                  CODE,
                  path,
                  message(rule, host, port, e.serviceEntry())));
          break;
        }
      }
    }
  }

  private static String message(JsonNode rule, String host, MeshService.Port port, Resource se) {
    List<String> features = new ArrayList<>();
    if (rule.has("timeout")) {
      features.add("timeout " + rule.get("timeout").asText());
    }
    if (rule.has("retries")) {
      features.add("retries");
    }
    for (String f :
        List.of("fault", "rewrite", "headers", "mirror", "mirrors", "corsPolicy", "match")) {
      if (rule.has(f)) {
        features.add(f);
      }
    }
    String what =
        features.isEmpty()
            ? "HTTP route rules"
            : "HTTP route rules (" + String.join(", ", features) + ")";
    return what
        + " for \""
        + host
        + "\" go to port "
        + port.port()
        + ", which ServiceEntry "
        + se.id()
        + " declares "
        + port.protocol().name()
        + ": the application speaks TLS itself,"
        + " the sidecar sees only encrypted bytes and Istio builds no HTTP route for that port, so these rules"
        + " cannot apply to application-originated TLS. Fix (egress TLS origination): the app calls http://"
        + host
        + "; the ServiceEntry declares port 80 protocol HTTP with targetPort "
        + port.port()
        + "; this VirtualService routes to port 80; a DestinationRule sets trafficPolicy.portLevelSettings"
        + " port 80 tls.mode SIMPLE (sni "
        + host
        + ") so the sidecar originates TLS"
        + " (see manifests/payment-serviceentry.yaml, payment-virtualservice.yaml, payment-destination-rule.yaml).";
  }
}
