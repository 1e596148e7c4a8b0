package io.shopmesh.mesh.config.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.Resource;
import io.shopmesh.mesh.config.model.MeshService;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * SM0101: HTTP route rules (timeouts, retries, faults...) that only sit on ServiceEntry ports
 * declared HTTPS or TLS (the ports the rule matches, or all the host's ports). The application then
 * speaks TLS itself, the sidecar only sees encrypted bytes and Istio builds no HTTP route for that
 * port, so the rules silently do nothing. The working pattern is egress TLS origination: plain HTTP
 * from the app, TLS from the sidecar.
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
      JsonNode hosts = vs.spec().path("hosts");
      for (int i = 0; i < http.size(); i++) {
        JsonNode rule = http.get(i);
        // The rule sits on the HTTP routes of the ports it matches (all the host's ports when a
        // match names none); where it routes to does not matter: Istio's egress TLS origination
        // matches port 80 and routes to the ServiceEntry's 443 with a DestinationRule's SIMPLE tls.
        Set<Long> matched = new HashSet<>();
        boolean anyPort = !rule.path("match").isArray() || rule.path("match").isEmpty();
        for (JsonNode m : rule.path("match")) {
          if (m.has("port")) {
            matched.add(m.path("port").asLong());
          } else {
            anyPort = true;
          }
        }
        String tlsHost = null;
        MeshService.Port tlsPort = null;
        Resource tlsEntry = null;
        boolean onHttpPort = false;
        for (JsonNode h : hosts) {
          HostRegistry.Entry e =
              registry.lookup(vs.namespace(), vs.spec().path("exportTo"), h.asText(""));
          if (e == null || e.serviceEntry() == null) {
            continue;
          }
          for (MeshService.Port p : e.ports()) {
            if (!anyPort && !matched.contains((long) p.port())) {
              continue;
            }
            if (p.protocol().isTls()) {
              if (tlsPort == null) {
                tlsHost = h.asText("");
                tlsPort = p;
                tlsEntry = e.serviceEntry();
              }
            } else {
              onHttpPort = true;
            }
          }
        }
        if (tlsPort == null || onHttpPort) {
          continue;
        }
        out.add(
            vs.diagnostic(
                Diagnostic.Level.WARNING,
                CODE,
                path(rule, i),
                message(rule, tlsHost, tlsPort, tlsEntry)));
      }
    }
  }

  /** The first destination of the rule (its port when it names one), else the rule. */
  private static String path(JsonNode rule, int i) {
    JsonNode route = rule.path("route");
    if (route.size() == 0) {
      return "spec.http[" + i + "]";
    }
    JsonNode d = route.get(0).path("destination");
    return "spec.http["
        + i
        + "].route[0].destination"
        + (d.path("port").has("number") ? ".port.number" : ".host");
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
