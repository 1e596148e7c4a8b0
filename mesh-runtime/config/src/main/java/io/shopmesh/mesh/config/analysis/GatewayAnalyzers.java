package io.shopmesh.mesh.config.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.Resource;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Istio's gateway.* analyzers. */
final class GatewayAnalyzers {

  private GatewayAnalyzers() {}

  /** IST0101 (no workload selected), IST0162 (server port not on the gateway's Service). */
  static final class IngressGatewayPort implements Analyzer {
    @Override
    public String name() {
      return "gateway.IngressGatewayPortAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext ctx, List<Diagnostic> out) {
      for (Resource gw : ctx.istio("Gateway")) {
        Map<String, String> selector = AnalysisContext.labels(gw.spec().path("selector"));
        String sel = AnalysisContext.selectorString(selector);
        String selPath =
            selector.isEmpty() ? "spec" : "spec.selector." + selector.keySet().iterator().next();
        Set<Long> servicePorts = new HashSet<>();
        Map<Long, Long> portMapping = new HashMap<>();
        int matches = 0;
        for (Workload pod : ctx.workloads()) {
          if (!pod.matches(selector)) {
            continue;
          }
          matches++;
          for (Resource svc : ctx.services()) {
            if (!svc.namespace().equals(pod.namespace())) {
              continue;
            }
            if (!pod.matches(AnalysisContext.labels(svc.spec().path("selector")))) {
              continue;
            }
            for (JsonNode p : svc.spec().path("ports")) {
              if (!p.path("protocol").asText("TCP").equals("TCP")) {
                continue;
              }
              long tp = p.path("targetPort").isIntegralNumber() ? p.path("targetPort").asLong() : 0;
              if (tp != 0) {
                servicePorts.add(tp);
                portMapping.putIfAbsent(p.path("port").asLong(), tp);
              } else {
                servicePorts.add(p.path("port").asLong());
              }
            }
          }
        }
        if (matches == 0) {
          out.add(Messages.referencedResourceNotFound(gw, selPath, "selector", sel));
          continue;
        }
        for (JsonNode server : gw.spec().path("servers")) {
          if (!server.has("port")) {
            continue;
          }
          long number = server.path("port").path("number").asLong(0);
          if (!servicePorts.contains(number) && !portMapping.containsKey(number)) {
            out.add(Messages.gatewayPortNotDefinedOnService(gw, selPath, number, sel));
          }
        }
      }
    }
  }

  /** IST0145: two Gateways on the same workloads and port claim the same host. */
  static final class ConflictingGateways implements Analyzer {
    @Override
    public String name() {
      return "gateway.ConflictingGatewayAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext ctx, List<Diagnostic> out) {
      // selector~port -> gateway -> host -> bind
      Map<String, Map<String, Map<String, String>>> index = new LinkedHashMap<>();
      for (Resource gw : ctx.istio("Gateway")) {
        String sel =
            AnalysisContext.selectorString(AnalysisContext.labels(gw.spec().path("selector")));
        for (JsonNode server : gw.spec().path("servers")) {
          String key = sel + "~" + server.path("port").path("number").asLong(0);
          Map<String, String> hb = new HashMap<>();
          for (JsonNode h : server.path("hosts")) {
            hb.put(h.asText(), server.path("bind").asText(""));
          }
          index.computeIfAbsent(key, k -> new LinkedHashMap<>()).put(gw.id(), hb);
        }
      }
      for (Resource gw : ctx.istio("Gateway")) {
        Map<String, String> selector = AnalysisContext.labels(gw.spec().path("selector"));
        String sel = AnalysisContext.selectorString(selector);
        Map<String, Map<String, Map<String, String>>> same = new LinkedHashMap<>();
        for (String key : index.keySet()) {
          String xSel = key.substring(0, key.lastIndexOf('~'));
          boolean matched = xSel.equals(sel);
          if (!matched && (xSel.contains(sel) || sel.contains(xSel))) {
            Map<String, String> xSelector = parseSelector(xSel);
            for (Workload pod : ctx.workloads()) {
              if (pod.matches(selector) && pod.matches(xSelector)) {
                matched = true;
                break;
              }
            }
          }
          if (matched) {
            same.put(key, index.get(key));
          }
        }
        JsonNode servers = gw.spec().path("servers");
        for (int i = 0; i < servers.size(); i++) {
          JsonNode server = servers.get(i);
          String port = String.valueOf(server.path("port").path("number").asLong(0));
          List<String> conflicts = new ArrayList<>();
          for (Map.Entry<String, Map<String, Map<String, String>>> e : same.entrySet()) {
            if (!e.getKey().substring(e.getKey().lastIndexOf('~') + 1).equals(port)) {
              continue;
            }
            for (Map.Entry<String, Map<String, String>> other : e.getValue().entrySet()) {
              if (!other.getKey().equals(gw.id()) && duplicates(server, other.getValue())) {
                conflicts.add(other.getKey());
              }
            }
          }
          if (!conflicts.isEmpty()) {
            List<String> hosts = new ArrayList<>();
            server.path("hosts").forEach(h -> hosts.add(h.asText()));
            out.add(
                Messages.conflictingGateways(
                    gw,
                    "spec.servers[" + i + "]",
                    String.join(",", new TreeSet<>(conflicts)),
                    sel,
                    port,
                    String.join(",", hosts)));
          }
        }
      }
    }

    private static boolean duplicates(JsonNode server, Map<String, String> known) {
      String bind = server.path("bind").asText("");
      for (JsonNode h : server.path("hosts")) {
        String existing = known.get(h.asText());
        if (existing != null && existing.equals(bind)) {
          return true;
        }
      }
      return false;
    }

    private static Map<String, String> parseSelector(String s) {
      Map<String, String> out = new HashMap<>();
      for (String pair : s.split(",")) {
        String[] kv = pair.split("=");
        if (kv.length == 2) {
          out.put(kv[0], kv[1]);
        }
      }
      return out;
    }
  }

  /**
   * IST0138: the same certificate on Gateways of the same workloads (HTTP/2 connection reuse 404s).
   */
  static final class Certificate implements Analyzer {
    @Override
    public String name() {
      return "gateway.CertificateAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext ctx, List<Diagnostic> out) {
      List<Resource> gateways = ctx.istio("Gateway");
      for (Resource gw : gateways) {
        Map<String, String> selector = AnalysisContext.labels(gw.spec().path("selector"));
        for (Resource other : gateways) {
          if (other == gw
              || !(selector.isEmpty()
                  || subset(selector, AnalysisContext.labels(other.spec().path("selector"))))) {
            continue;
          }
          for (JsonNode s1 : gw.spec().path("servers")) {
            for (JsonNode s2 : other.spec().path("servers")) {
              if (s1.has("tls") && s2.has("tls") && sameCertificate(s1.get("tls"), s2.get("tls"))) {
                out.add(
                    gw.diagnostic(
                        Diagnostic.Level.WARNING,
                        "IST0138",
                        "metadata.name",
                        "Duplicate certificate in multiple gateways "
                            + Messages.goList(List.of(gw.id(), other.id()))
                            + " may cause 404s if clients re-use HTTP2 connections."));
              }
            }
          }
        }
      }
    }

    private static boolean subset(Map<String, String> x, Map<String, String> y) {
      int count = 0;
      for (Map.Entry<String, String> e : x.entrySet()) {
        if (y.containsKey(e.getKey())) {
          if (!y.get(e.getKey()).equals(e.getValue())) {
            return false;
          }
          count++;
        }
      }
      return count == x.size();
    }

    private static boolean sameCertificate(JsonNode a, JsonNode b) {
      String ca = a.path("credentialName").asText("");
      String cb = b.path("credentialName").asText("");
      if (!ca.isEmpty() && !cb.isEmpty()) {
        return ca.equals(cb);
      }
      if (ca.isEmpty() && cb.isEmpty()) {
        String sa = a.path("serverCertificate").asText("");
        String sb = b.path("serverCertificate").asText("");
        if (!sa.isEmpty() && sa.equals(sb)) {
          String ka = a.path("privateKey").asText("");
          String kb = b.path("privateKey").asText("");
          return !ka.isEmpty() && !kb.isEmpty() && ka.equals(kb);
        }
      }
      return false;
    }
  }

  /**
   * IST0101 (credentialName without Secret), IST0161 (Secret without a usable, current
   * certificate).
   */
  static final class Secrets implements Analyzer {
    @Override
    public String name() {
      return "gateway.SecretAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext ctx, List<Diagnostic> out) {
      for (Resource gw : ctx.istio("Gateway")) {
        Map<String, String> selector = AnalysisContext.labels(gw.spec().path("selector"));
        String ns =
            ctx.workloads().stream()
                .filter(w -> w.matches(selector))
                .map(Workload::namespace)
                .findFirst()
                .orElse(null);
        if (ns == null) {
          String path =
              selector.isEmpty() ? "spec" : "spec.selector." + selector.keySet().iterator().next();
          out.add(
              Messages.referencedResourceNotFound(
                  gw, path, "selector", AnalysisContext.selectorString(selector)));
          continue;
        }
        JsonNode servers = gw.spec().path("servers");
        for (int i = 0; i < servers.size(); i++) {
          String cn = servers.get(i).path("tls").path("credentialName").asText("");
          if (cn.isEmpty()) {
            continue;
          }
          String full = cn.contains("/") ? cn : ns + "/" + cn;
          Resource secret =
              ctx.resources().stream()
                  .filter(r -> r.is("", "Secret") && r.id().equals(full))
                  .findFirst()
                  .orElse(null);
          String path = "spec.servers[" + i + "].tls.credentialName";
          if (secret == null) {
            out.add(Messages.referencedResourceNotFound(gw, path, "credentialName", cn));
          } else if (!validCertificate(secret)) {
            out.add(
                gw.diagnostic(
                    Diagnostic.Level.ERROR,
                    "IST0161",
                    path,
                    "The credential referenced by the Gateway "
                        + gw.name()
                        + " in namespace "
                        + ns
                        + " is invalid, which can cause the traffic not to work as"
                        + " expected."));
          }
        }
      }
    }

    /**
     * Istio's rule: cert+key or tls.crt+tls.key, the first PEM block parses, every certificate is
     * current.
     */
    private static boolean validCertificate(Resource secret) {
      JsonNode data = secret.object().path("data");
      byte[] cert = decode(data, "cert");
      byte[] key = decode(data, "key");
      if (cert.length == 0 || key.length == 0) {
        cert = decode(data, "tls.crt");
        key = decode(data, "tls.key");
      }
      if (cert.length == 0 || key.length == 0) {
        return false;
      }
      String pem = new String(cert, StandardCharsets.US_ASCII);
      Matcher m =
          Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----\\s*([A-Za-z0-9+/=\\s]+?)-----END \\1-----")
              .matcher(pem);
      if (!m.find()) {
        return false;
      }
      try {
        byte[] der = Base64.getMimeDecoder().decode(m.group(2));
        var certs =
            CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(der));
        if (certs.isEmpty()) {
          return false;
        }
        for (var c : certs) {
          ((X509Certificate) c).checkValidity();
        }
        return true;
      } catch (Exception e) {
        return false;
      }
    }

    private static byte[] decode(JsonNode data, String key) {
      try {
        return Base64.getMimeDecoder().decode(data.path(key).asText(""));
      } catch (IllegalArgumentException e) {
        return new byte[0];
      }
    }
  }
}
