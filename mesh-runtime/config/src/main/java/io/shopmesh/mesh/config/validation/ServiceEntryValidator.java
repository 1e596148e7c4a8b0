package io.shopmesh.mesh.config.validation;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.config.Hosts;
import io.shopmesh.mesh.config.Protocol;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * ServiceEntry checks (Istio's validateServiceEntry): hosts, addresses, ports, resolution and
 * endpoints, exportTo.
 */
final class ServiceEntryValidator {

  private final Checks checks;

  ServiceEntryValidator(Checks checks) {
    this.checks = checks;
  }

  void validate(JsonNode spec) {
    String resolution = spec.path("resolution").asText("NONE");
    JsonNode selector = spec.path("workloadSelector");
    if (!selector.isMissingNode()) {
      checks.labels(selector.path("labels"), "spec.workloadSelector.labels");
      if (selector.path("labels").isEmpty()) {
        checks.warn(
            "spec.workloadSelector",
            "service entry: workload selector specified without labels, will be applied"
                + " to all services in namespace");
      }
    }
    if (!selector.isMissingNode() && spec.has("endpoints")) {
      checks.error("spec", "only one of WorkloadSelector or Endpoints is allowed in Service Entry");
    }
    JsonNode hosts = spec.path("hosts");
    if (hosts.isEmpty()) {
      checks.error("spec.hosts", "service entry must have at least one host");
    }
    for (int i = 0; i < hosts.size(); i++) {
      String h = hosts.get(i).asText();
      String p = "spec.hosts[" + i + "]";
      if (h.equals("*")) {
        checks.error(p, "invalid host " + h);
      } else {
        String err = Checks.wildcardDomain(h);
        if (err != null) {
          checks.error(p, err);
        }
        if (!resolution.equals("DYNAMIC_DNS")
            && h.contains("*")
            && h.length() != 1
            && !h.startsWith("*.")) {
          checks.warn(p, "partial wildcard \"" + h + "\" not allowed");
        }
      }
    }
    boolean cidr = false;
    JsonNode addresses = spec.path("addresses");
    for (int i = 0; i < addresses.size(); i++) {
      String a = addresses.get(i).asText();
      cidr |= a.contains("/");
      checks.ipSubnet(a, "spec.addresses[" + i + "]");
    }
    if (cidr && !resolution.equals("NONE") && !resolution.equals("STATIC")) {
      checks.error(
          "spec.addresses", "CIDR addresses are allowed only for NONE/STATIC resolution types");
    }
    Set<String> portNames = new HashSet<>();
    Set<Long> portNumbers = new HashSet<>();
    JsonNode ports = spec.path("ports");
    for (int i = 0; i < ports.size(); i++) {
      JsonNode port = ports.get(i);
      String p = "spec.ports[" + i + "]";
      String name = port.path("name").asText("");
      long number = port.path("number").asLong(0);
      if (!portNames.add(name)) {
        checks.error(p + ".name", "service entry port name \"" + name + "\" already defined");
      }
      if (!portNumbers.add(number)) {
        checks.error(p + ".number", "service entry port " + number + " already defined");
      }
      if (port.path("targetPort").asLong(0) != 0) {
        checks.port(port.get("targetPort").asLong(), p + ".targetPort");
      }
      String proto = port.path("protocol").asText("");
      if (addresses.isEmpty() && (proto.isEmpty() || proto.equals("TCP"))) {
        checks.warn(
            p,
            "addresses are required for ports serving TCP (or unset) protocol when IP Autoallocation is not"
                + " enabled");
      }
      if (!Hosts.isDns1123Label(name)) {
        checks.error(p + ".name", "invalid port name: " + name);
      }
      if (!proto.isEmpty() && Protocol.parse(proto) == Protocol.UNSUPPORTED) {
        checks.error(p + ".protocol", "unsupported protocol: " + proto);
      }
      checks.port(number, p + ".number");
    }
    JsonNode endpoints = spec.path("endpoints");
    switch (resolution) {
      case "NONE" -> {
        if (!endpoints.isEmpty()) {
          checks.error(
              "spec.endpoints", "no endpoints should be provided for resolution type none");
        }
        if (!selector.isMissingNode()) {
          checks.warn(
              "spec.workloadSelector",
              "workloadSelector should not be set when resolution mode is NONE");
        }
      }
      case "STATIC" -> {
        for (int i = 0; i < endpoints.size(); i++) {
          workloadEntry(endpoints.get(i), "spec.endpoints[" + i + "]", portNames, false);
        }
      }
      case "DNS", "DNS_ROUND_ROBIN" -> {
        if (endpoints.isEmpty()) {
          for (JsonNode h : hosts) {
            String err = Checks.fqdn(h.asText());
            if (err != null) {
              checks.error(
                  "spec.hosts",
                  "hosts must be FQDN or contain only prefix wildcards if no endpoints are provided"
                      + " for resolution mode "
                      + resolution
                      + ", "
                      + err);
              break;
            }
          }
        }
        if (resolution.equals("DNS_ROUND_ROBIN") && endpoints.size() > 1) {
          checks.error(
              "spec.endpoints",
              "there must only be 0 or 1 endpoint for resolution mode " + resolution);
        }
        for (int i = 0; i < endpoints.size(); i++) {
          workloadEntry(endpoints.get(i), "spec.endpoints[" + i + "]", portNames, true);
        }
        if (!addresses.isEmpty() && hosts.size() > 1) {
          for (JsonNode port : ports) {
            if (Protocol.parse(port.path("protocol").asText()).isTcp()) {
              checks.warn(
                  "spec",
                  "service entry can not have more than one host specified simultaneously with address"
                      + " and tcp port");
              break;
            }
          }
        }
      }
      case "DYNAMIC_DNS" -> {
        for (JsonNode h : hosts) {
          if (!h.asText().startsWith("*")) {
            checks.error("spec.hosts", "host must be wildcarded for resolution mode DYNAMIC_DNS");
          }
        }
        if (!addresses.isEmpty()) {
          checks.error(
              "spec.addresses",
              "addresses cannot be set for resolution type DYNAMIC_DNS. HTTP route domains will"
                  + " only be generatedfrom the hosts field values");
        }
        if (!endpoints.isEmpty()) {
          checks.error(
              "spec.endpoints",
              "endpoints cannot be set for resolution type DYNAMIC_DNS. Destination IP address"
                  + " determined from hostsfield values");
        }
        for (JsonNode port : ports) {
          Protocol pr = Protocol.parse(port.path("protocol").asText());
          if (pr != Protocol.HTTP
              && pr != Protocol.TLS
              && pr != Protocol.GRPC
              && pr != Protocol.HTTP2) {
            checks.error(
                "spec.ports",
                "only HTTP, TLS, GRPC, and HTTP2 protocols are supported for resolution type"
                    + " DYNAMIC_DNS");
          }
        }
      }
      default -> checks.error("spec.resolution", "unsupported resolution type " + resolution);
    }
    if (!resolution.equals("NONE") && hosts.size() > 1) {
      for (JsonNode port : ports) {
        Protocol pr = Protocol.parse(port.path("protocol").asText());
        if (!pr.isHttp() && !pr.isTls()) {
          checks.error("spec.ports", "multiple hosts provided with non-HTTP, non-TLS ports");
          break;
        }
      }
    }
    checks.exportTo(spec.path("exportTo"), true);
  }

  private void workloadEntry(JsonNode we, String path, Set<String> servicePorts, boolean dns) {
    String address = we.path("address").asText("");
    if (dns) {
      if (!Checks.isIp(address) && Checks.fqdn(address) != null) {
        checks.error(
            path + ".address",
            "endpoint address \"" + address + "\" is not a valid FQDN or an IP address");
      }
    } else if (address.isEmpty() && !we.has("network")) {
      checks.error(path + ".address", "address is required");
    } else if (!address.isEmpty() && !address.startsWith("unix://") && !Checks.isIp(address)) {
      checks.error(
          path + ".address", "endpoint address \"" + address + "\" is not a valid IP address");
    }
    checks.labels(we.path("labels"), path + ".labels");
    Iterator<Map.Entry<String, JsonNode>> ps = we.path("ports").fields();
    while (ps.hasNext()) {
      Map.Entry<String, JsonNode> e = ps.next();
      String p = path + ".ports." + e.getKey();
      if (!servicePorts.contains(e.getKey())) {
        checks.error(
            p, "endpoint port " + e.getValue().asText() + " is not defined by the service entry");
      }
      if (!Hosts.isDns1123Label(e.getKey())) {
        checks.error(p, "invalid port name: " + e.getKey());
      }
      checks.port(e.getValue().asLong(), p);
    }
  }
}
