package io.shopmesh.mesh.config.analysis;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.ExportTo;
import io.shopmesh.mesh.config.Hosts;
import io.shopmesh.mesh.config.Resource;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Istio's virtualservice.* analyzers. */
final class VirtualServiceAnalyzers {

  private VirtualServiceAnalyzers() {}

  /** A destination of a VirtualService and the path of its field. */
  record Dest(String rule, String path, JsonNode destination) {
    String host() {
      return destination.path("host").asText("");
    }
  }

  static List<Dest> routeDestinations(JsonNode spec) {
    List<Dest> out = new ArrayList<>();
    for (String kind : List.of("tcp", "tls", "http")) {
      JsonNode rules = spec.path(kind);
      for (int i = 0; i < rules.size(); i++) {
        JsonNode route = rules.get(i).path("route");
        for (int j = 0; j < route.size(); j++) {
          out.add(
              new Dest(
                  kind,
                  "spec." + kind + "[" + i + "].route[" + j + "].destination",
                  route.get(j).path("destination")));
        }
      }
    }
    return out;
  }

  static List<Dest> mirrorDestinations(JsonNode spec) {
    List<Dest> out = new ArrayList<>();
    JsonNode rules = spec.path("http");
    for (int i = 0; i < rules.size(); i++) {
      if (rules.get(i).has("mirror")) {
        out.add(new Dest("http.mirror", "spec.http[" + i + "].mirror", rules.get(i).get("mirror")));
      }
      JsonNode mirrors = rules.get(i).path("mirrors");
      for (int j = 0; j < mirrors.size(); j++) {
        out.add(
            new Dest(
                "http.mirrors",
                "spec.http[" + i + "].mirrors[" + j + "].destination",
                mirrors.get(j).path("destination")));
      }
    }
    return out;
  }

  /** IST0101 (host, mirror host, host:port), IST0112, IST0140. */
  static final class DestinationHost implements Analyzer {
    @Override
    public String name() {
      return "virtualservice.DestinationHostAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext ctx, List<Diagnostic> out) {
      HostRegistry registry = new HostRegistry(ctx);
      Map<String, List<JsonNode>> subsetDestinations = new LinkedHashMap<>();
      for (Resource vs : ctx.istio("VirtualService")) {
        for (JsonNode rule : vs.spec().path("http")) {
          for (JsonNode rd : rule.path("route")) {
            JsonNode d = rd.path("destination");
            if (!d.path("subset").asText("").isEmpty()) {
              for (JsonNode h : vs.spec().path("hosts")) {
                if (d.path("host").asText("").equals(h.asText())) {
                  subsetDestinations.computeIfAbsent(vs.id(), k -> new ArrayList<>()).add(d);
                }
              }
            }
          }
        }
      }
      for (Resource vs : ctx.istio("VirtualService")) {
        JsonNode exportTo = vs.spec().path("exportTo");
        for (Dest d : routeDestinations(vs.spec())) {
          HostRegistry.Entry e = registry.lookup(vs.namespace(), exportTo, d.host());
          if (e == null) {
            out.add(Messages.referencedResourceNotFound(vs, d.path() + ".host", "host", d.host()));
            continue;
          }
          checkPorts(vs, d, e, out);
        }
        for (Dest d : mirrorDestinations(vs.spec())) {
          HostRegistry.Entry e = registry.lookup(vs.namespace(), exportTo, d.host());
          if (e == null) {
            out.add(
                Messages.referencedResourceNotFound(
                    vs, d.path() + ".host", "mirror host", d.host()));
            continue;
          }
          checkPorts(vs, d, e, out);
        }
        if (!vs.spec().path("gateways").isEmpty()) {
          JsonNode http = vs.spec().path("http");
          for (int i = 0; i < http.size(); i++) {
            JsonNode route = http.get(i).path("route");
            for (int j = 0; j < route.size(); j++) {
              JsonNode d = route.get(j).path("destination");
              if (!d.path("subset").asText("").isEmpty()) {
                continue;
              }
              for (Map.Entry<String, List<JsonNode>> sd : subsetDestinations.entrySet()) {
                for (JsonNode other : sd.getValue()) {
                  if (other.path("host").asText("").equals(d.path("host").asText(""))) {
                    out.add(
                        Messages.ingressRouteRulesNotAffected(
                            vs,
                            "spec.http[" + i + "].route[" + j + "].destination.host",
                            sd.getKey(),
                            vs.id()));
                  }
                }
              }
            }
          }
        }
      }
    }

    private static void checkPorts(
        Resource vs, Dest d, HostRegistry.Entry e, List<Diagnostic> out) {
      JsonNode port = d.destination().path("port");
      if (port.isMissingNode()) {
        if (e.ports().size() > 1) {
          List<Long> numbers = e.ports().stream().map(p -> (long) p.port()).toList();
          out.add(Messages.portSelectorRequired(vs, d.path() + ".host", d.host(), numbers));
        }
        return;
      }
      long number = port.path("number").asLong(0);
      if (e.ports().stream().noneMatch(p -> p.port() == number)) {
        out.add(
            Messages.referencedResourceNotFound(
                vs, d.path() + ".port.number", "host:port", d.host() + ":" + number));
      }
    }
  }

  /** IST0101 host+subset in destinationrule. */
  static final class DestinationRules implements Analyzer {
    @Override
    public String name() {
      return "virtualservice.DestinationRuleAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext ctx, List<Diagnostic> out) {
      Set<String> known = new HashSet<>();
      for (Resource dr : ctx.istio("DestinationRule")) {
        String host = HostRegistry.resourceName(dr.namespace(), dr.spec().path("host").asText(""));
        for (JsonNode s : dr.spec().path("subsets")) {
          known.add(host + "+" + s.path("name").asText(""));
        }
      }
      for (Resource vs : ctx.istio("VirtualService")) {
        for (Dest d : routeDestinations(vs.spec())) {
          check(vs, d, "host+subset in destinationrule", known, out);
        }
        for (Dest d : mirrorDestinations(vs.spec())) {
          check(vs, d, "mirror+subset in destinationrule", known, out);
        }
      }
    }

    private static void check(
        Resource vs, Dest d, String what, Set<String> known, List<Diagnostic> out) {
      String subset = d.destination().path("subset").asText("");
      if (subset.isEmpty()) {
        return;
      }
      if (!known.contains(HostRegistry.resourceName(vs.namespace(), d.host()) + "+" + subset)) {
        out.add(
            Messages.referencedResourceNotFound(
                vs, d.path() + ".subset", what, d.host() + "+" + subset));
      }
    }
  }

  /** IST0101 gateway, IST0132, IST0165. */
  static final class Gateways implements Analyzer {
    @Override
    public String name() {
      return "virtualservice.GatewayAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext ctx, List<Diagnostic> out) {
      List<Resource> gateways = ctx.istio("Gateway");
      List<Resource> kubeGateways =
          ctx.resources().stream().filter(r -> r.is(ConfigLoader.GATEWAY_API, "Gateway")).toList();
      for (Resource vs : ctx.istio("VirtualService")) {
        JsonNode names = vs.spec().path("gateways");
        List<String> vsHosts = new ArrayList<>();
        vs.spec().path("hosts").forEach(h -> vsHosts.add(h.asText()));
        for (int i = 0; i < names.size(); i++) {
          String gwName = names.get(i).asText();
          if (gwName.equals("mesh")) {
            continue;
          }
          String path = "spec.gateways[" + i + "]";
          String local = gwName.contains("/") ? gwName.substring(gwName.indexOf('/') + 1) : gwName;
          if (local.contains("~istio-autogenerated-k8s-gateway~")) {
            out.add(
                vs.diagnostic(
                    Diagnostic.Level.WARNING,
                    "IST0165",
                    path,
                    "Gateway reference in VirtualService "
                        + vs.id()
                        + " is to an implementation-generated internal Gateway: "
                        + gwName
                        + "."));
            continue;
          }
          String full = gwName.contains("/") ? gwName : vs.namespace() + "/" + gwName;
          Resource gw = gateways.stream().filter(g -> g.id().equals(full)).findFirst().orElse(null);
          Resource kube =
              gw != null
                  ? null
                  : kubeGateways.stream().filter(g -> g.id().equals(full)).findFirst().orElse(null);
          if (gw == null && kube == null) {
            out.add(Messages.referencedResourceNotFound(vs, path, "gateway", gwName));
          }
          boolean match =
              kube != null
                  ? hostsInKubeGateway(kube, vsHosts)
                  : hostsInGateway(gw, vsHosts, vs.namespace());
          if (!match) {
            out.add(Messages.hostNotFoundInGateway(vs, path, vsHosts, full));
          }
        }
      }
    }

    private static boolean hostsInKubeGateway(Resource gw, List<String> vsHosts) {
      for (JsonNode l : gw.spec().path("listeners")) {
        String h = l.path("hostname").asText("");
        if (h.isEmpty()) {
          return true;
        }
        for (String vh : vsHosts) {
          if (Hosts.matches(h, vh)) {
            return true;
          }
        }
      }
      return false;
    }

    private static boolean hostsInGateway(Resource gw, List<String> vsHosts, String vsNs) {
      if (gw == null) {
        return false;
      }
      List<String> gwHosts = new ArrayList<>();
      for (JsonNode server : gw.spec().path("servers")) {
        for (JsonNode h : server.path("hosts")) {
          String host = h.asText();
          int slash = host.indexOf('/');
          if (slash < 0) {
            gwHosts.add(host);
            continue;
          }
          String ns = host.substring(0, slash);
          String name = host.substring(slash + 1);
          if (ns.equals(".")) {
            ns = gw.namespace();
          }
          if (ns.equals("*") || ns.equals(vsNs)) {
            gwHosts.add(name);
          }
        }
      }
      for (String gh : gwHosts) {
        for (String vh : vsHosts) {
          if (Hosts.matches(gh, vh)) {
            return true;
          }
        }
      }
      return false;
    }
  }

  /** IST0109. */
  static final class ConflictingMeshGatewayHosts implements Analyzer {
    @Override
    public String name() {
      return "virtualservice.ConflictingMeshGatewayHostsAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext ctx, List<Diagnostic> out) {
      Map<String, List<Resource>> byHost = new LinkedHashMap<>();
      for (Resource vs : ctx.istio("VirtualService")) {
        JsonNode gws = vs.spec().path("gateways");
        boolean mesh = gws.isEmpty();
        for (JsonNode g : gws) {
          mesh |= g.asText().equals("mesh");
        }
        if (!mesh) {
          continue;
        }
        Set<String> scopes =
            ExportTo.scopes(ExportTo.of(vs.spec().path("exportTo")), vs.namespace());
        for (String scope : scopes) {
          for (JsonNode h : vs.spec().path("hosts")) {
            byHost
                .computeIfAbsent(
                    scope + "/" + Hosts.fqdn(h.asText(), vs.namespace()), k -> new ArrayList<>())
                .add(vs);
          }
        }
      }
      Set<String> reported = new HashSet<>();
      for (Map.Entry<String, List<Resource>> e : byHost.entrySet()) {
        List<Resource> list = new ArrayList<>(e.getValue());
        String scope = e.getKey().substring(0, e.getKey().indexOf('/'));
        String host = e.getKey().substring(e.getKey().indexOf('/') + 1);
        if (!scope.equals("*")) {
          for (Map.Entry<String, List<Resource>> o : byHost.entrySet()) {
            String oScope = o.getKey().substring(0, o.getKey().indexOf('/'));
            String oHost = o.getKey().substring(o.getKey().indexOf('/') + 1);
            if (oScope.equals("*") && Hosts.matches(host, oHost)) {
              list.addAll(o.getValue());
            }
          }
        }
        if (list.size() > 1) {
          String names = String.join(",", new TreeSet<>(list.stream().map(Resource::id).toList()));
          for (Resource vs : list) {
            if (reported.add(vs.id())) {
              out.add(Messages.conflictingMeshGatewayHosts(vs, names, e.getKey()));
            }
          }
        }
      }
    }
  }

  /** IST0149: routing on JWT claims at a gateway whose pods no RequestAuthentication covers. */
  static final class JwtClaimRoute implements Analyzer {
    @Override
    public String name() {
      return "virtualservice.JWTClaimRouteAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext ctx, List<Diagnostic> out) {
      Map<String, List<Map<String, String>>> authnByNs = new LinkedHashMap<>();
      for (Resource ra : ctx.resources()) {
        if (ra.is(ConfigLoader.ISTIO_SECURITY, "RequestAuthentication")) {
          authnByNs
              .computeIfAbsent(ra.namespace(), k -> new ArrayList<>())
              .add(AnalysisContext.labels(ra.spec().path("selector").path("matchLabels")));
        }
      }
      List<Resource> gateways = ctx.istio("Gateway");
      for (Resource vs : ctx.istio("VirtualService")) {
        String key = claimKey(vs.spec());
        if (key == null) {
          continue;
        }
        for (JsonNode g : vs.spec().path("gateways")) {
          String gwName = g.asText();
          if (gwName.equals("mesh")) {
            continue;
          }
          String full = gwName.contains("/") ? gwName : vs.namespace() + "/" + gwName;
          Resource gw = gateways.stream().filter(x -> x.id().equals(full)).findFirst().orElse(null);
          if (gw == null) {
            continue;
          }
          Map<String, String> selector = AnalysisContext.labels(gw.spec().path("selector"));
          for (Workload pod : ctx.workloads()) {
            if (!pod.matches(selector)) {
              continue;
            }
            List<Map<String, String>> selectors =
                new ArrayList<>(
                    authnByNs.getOrDefault(AnalysisContext.INGRESS_NAMESPACE, List.of()));
            selectors.addAll(authnByNs.getOrDefault(pod.namespace(), List.of()));
            if (selectors.stream().noneMatch(pod::matches)) {
              out.add(
                  vs.diagnostic(
                      Diagnostic.Level.ERROR,
                      "IST0149",
                      "metadata.name",
                      "The virtual service uses the JWT claim based routing (key: "
                          + key
                          + ") but found no request"
                          + " authentication for the gateway ("
                          + full
                          + ") pod ("
                          + pod.name()
                          + "). The request"
                          + " authentication must first be applied for the gateway pods to validate the JWT token and"
                          + " make the claims available for routing."));
            }
          }
        }
      }
    }

    private static String claimKey(JsonNode spec) {
      for (JsonNode rule : spec.path("http")) {
        for (JsonNode m : rule.path("match")) {
          for (String f : List.of("headers", "withoutHeaders")) {
            var it = m.path(f).fieldNames();
            while (it.hasNext()) {
              String k = it.next();
              if (k.startsWith("@request.auth.claims.") || k.startsWith("@request.auth.claims[")) {
                return k;
              }
            }
          }
        }
      }
      return null;
    }
  }
}
