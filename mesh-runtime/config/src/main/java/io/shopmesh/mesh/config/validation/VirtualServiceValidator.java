package io.shopmesh.mesh.config.validation;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.Hosts;
import java.util.ArrayList;
import java.util.List;

/**
 * VirtualService checks (Istio's virtualservice.go): hosts, gateways, delegation, TLS and TCP
 * routes and the unreachable-rule analysis; HTTP routes go to {@link HttpRouteValidator}.
 */
final class VirtualServiceValidator {

  private final Checks checks;

  VirtualServiceValidator(Checks checks) {
    this.checks = checks;
  }

  void validate(JsonNode spec) {
    JsonNode hosts = spec.path("hosts");
    JsonNode gateways = spec.path("gateways");
    if (hosts.isEmpty()) {
      // no hosts: a delegate VirtualService
      if (!gateways.isEmpty()) {
        checks.error("spec.gateways", "delegate virtual service must have no gateways specified");
      }
      if (!spec.path("tls").isEmpty()) {
        checks.error("spec.tls", "delegate virtual service must have no tls route specified");
      }
      if (!spec.path("tcp").isEmpty()) {
        checks.error("spec.tcp", "delegate virtual service must have no tcp route specified");
      }
    }
    boolean appliesToGateway = false;
    if (!gateways.isEmpty()) {
      checks.gatewayNames(gateways, "spec.gateways");
      appliesToGateway = !Checks.contains(gateways, "mesh");
    }
    boolean appliesToMesh = !appliesToGateway;
    boolean allHostsValid = true;
    for (int i = 0; i < hosts.size(); i++) {
      String h = hosts.get(i).asText();
      String p = "spec.hosts[" + i + "]";
      String err = Checks.wildcardDomain(h);
      if (err != null) {
        if (!Checks.isIp(h)) {
          checks.error(p, err);
          allHostsValid = false;
        }
      } else if (appliesToMesh && h.equals("*")) {
        checks.error(
            p, "wildcard host * is not allowed for virtual services bound to the mesh gateway");
        allHostsValid = false;
      }
    }
    if (allHostsValid) {
      for (int i = 0; i < hosts.size(); i++) {
        for (int j = i + 1; j < hosts.size(); j++) {
          String a = hosts.get(i).asText();
          String b = hosts.get(j).asText();
          if (Hosts.matches(a, b)) {
            checks.error(
                "spec.hosts[" + j + "]", "duplicate hosts in virtual service: " + a + " & " + b);
          }
        }
      }
    }
    if (spec.path("http").isEmpty() && spec.path("tcp").isEmpty() && spec.path("tls").isEmpty()) {
      checks.error("spec", "http, tcp or tls must be provided in virtual service");
    }
    JsonNode routes = spec.path("http");
    HttpRouteValidator http = new HttpRouteValidator(checks);
    for (int i = 0; i < routes.size(); i++) {
      if (appliesToMesh) {
        http.jwtClaimRoutes(routes.get(i), "spec.http[" + i + "]", gateways);
      }
      http.validate(routes.get(i), "spec.http[" + i + "]", hosts.isEmpty());
    }
    JsonNode tls = spec.path("tls");
    for (int i = 0; i < tls.size(); i++) {
      tlsRoute(tls.get(i), "spec.tls[" + i + "]", spec, appliesToGateway);
    }
    JsonNode tcp = spec.path("tcp");
    for (int i = 0; i < tcp.size(); i++) {
      String p = "spec.tcp[" + i + "]";
      JsonNode m = tcp.get(i).path("match");
      for (int j = 0; j < m.size(); j++) {
        l4Match(m.get(j), p + ".match[" + j + "]");
      }
      if (tcp.get(i).path("route").isEmpty()) {
        checks.error(p + ".route", "TCP route is required");
      }
      checks.routeDestinations(tcp.get(i).path("route"), p + ".route");
    }
    checks.exportTo(spec.path("exportTo"), false);
    UnreachableRules.analyze(spec, this::warnUnused, this::warnIneffective);
  }

  private void warnUnused(String path, String ruleno, String reason) {
    checks.add(
        new Violation(
            path,
            "VirtualService rule " + ruleno + " not used (" + reason + ").",
            Diagnostic.Level.WARNING,
            "IST0130"));
  }

  private void warnIneffective(String path, String ruleno, String matchno, String dupno) {
    checks.add(
        new Violation(
            path,
            "VirtualService rule "
                + ruleno
                + " match "
                + matchno
                + " is not used (duplicate/overlapping match in rule "
                + dupno
                + ").",
            Diagnostic.Level.INFO,
            "IST0131"));
  }

  private void tlsRoute(JsonNode tls, String path, JsonNode spec, boolean appliesToGateway) {
    JsonNode matches = tls.path("match");
    if (matches.isEmpty()) {
      checks.error(path + ".match", "TLS route must have at least one match condition");
    }
    for (int j = 0; j < matches.size(); j++) {
      JsonNode m = matches.get(j);
      String p = path + ".match[" + j + "]";
      JsonNode sni = m.path("sniHosts");
      if (sni.isEmpty()) {
        checks.error(p + ".sniHosts", "TLS match must have at least one SNI host");
      }
      for (int k = 0; k < sni.size(); k++) {
        sniHost(sni.get(k).asText(), spec, p + ".sniHosts[" + k + "]", appliesToGateway);
      }
      JsonNode subnets = m.path("destinationSubnets");
      for (int k = 0; k < subnets.size(); k++) {
        checks.ipSubnet(subnets.get(k).asText(), p + ".destinationSubnets[" + k + "]");
      }
      if (m.path("port").asLong(0) != 0) {
        checks.port(m.get("port").asLong(), p + ".port");
      }
      checks.labels(m.path("sourceLabels"), p + ".sourceLabels");
      checks.gatewayNames(m.path("gateways"), p + ".gateways");
    }
    if (tls.path("route").isEmpty()) {
      checks.error(path + ".route", "TLS route is required");
    }
    checks.routeDestinations(tls.path("route"), path + ".route");
  }

  private void sniHost(String sni, JsonNode spec, String path, boolean appliesToGateway) {
    String err = Checks.wildcardDomain(sni);
    if (err != null) {
      if (Checks.isIp(sni)) {
        checks.warn(
            path,
            "using an IP address (\""
                + sni
                + "\") goes against SNI spec and most clients do not support this");
        return;
      }
      if (!(appliesToGateway && sni.startsWith("outbound_"))) {
        checks.error(path, err);
      }
      return;
    }
    List<String> hosts = new ArrayList<>();
    for (JsonNode h : spec.path("hosts")) {
      hosts.add(h.asText());
      if (Hosts.subsetOf(sni, h.asText())) {
        return;
      }
    }
    checks.error(
        path,
        "SNI host \""
            + sni
            + "\" is not a compatible subset of any of the virtual service hosts: ["
            + String.join(", ", hosts)
            + "]");
  }

  private void l4Match(JsonNode m, String path) {
    JsonNode subnets = m.path("destinationSubnets");
    for (int k = 0; k < subnets.size(); k++) {
      checks.ipSubnet(subnets.get(k).asText(), path + ".destinationSubnets[" + k + "]");
    }
    if (m.path("port").asLong(0) != 0) {
      checks.port(m.get("port").asLong(), path + ".port");
    }
    checks.labels(m.path("sourceLabels"), path + ".sourceLabels");
    checks.gatewayNames(m.path("gateways"), path + ".gateways");
  }
}
