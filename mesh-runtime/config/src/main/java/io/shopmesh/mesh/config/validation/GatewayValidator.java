package io.shopmesh.mesh.config.validation;

import com.fasterxml.jackson.databind.JsonNode;
import io.shopmesh.mesh.config.Hosts;
import io.shopmesh.mesh.config.Protocol;
import java.util.HashSet;
import java.util.Set;

/** Gateway checks (Istio's validateGateway and validateServer): servers, hosts, ports, TLS. */
final class GatewayValidator {

  private final Checks checks;

  GatewayValidator(Checks checks) {
    this.checks = checks;
  }

  void validate(String name, JsonNode spec) {
    if (!Hosts.isDns1123Label(name)) {
      checks.error("metadata.name", "invalid gateway name: \"" + name + "\"");
    }
    JsonNode servers = spec.path("servers");
    if (servers.isEmpty()) {
      checks.error("spec.servers", "gateway must have at least one server");
    }
    Set<String> portNames = new HashSet<>();
    for (int i = 0; i < servers.size(); i++) {
      JsonNode s = servers.get(i);
      String p = "spec.servers[" + i + "]";
      server(s, p);
      if (s.has("port")) {
        String pn = s.path("port").path("name").asText("");
        if (!portNames.add(pn)) {
          checks.error(
              p + ".port.name", "port names in servers must be unique: duplicate name " + pn);
        }
        if (!Protocol.parse(s.path("port").path("protocol").asText()).isHttp()
            && s.path("tls").path("httpsRedirect").asBoolean(false)) {
          checks.warn(
              p + ".tls.httpsRedirect", "tls.httpsRedirect should only be used with http servers");
        }
      }
    }
  }

  private void server(JsonNode s, String path) {
    JsonNode hosts = s.path("hosts");
    if (hosts.isEmpty()) {
      checks.error(path + ".hosts", "server config must contain at least one host");
    }
    for (int i = 0; i < hosts.size(); i++) {
      gatewayHost(hosts.get(i).asText(), path + ".hosts[" + i + "]");
    }
    JsonNode port = s.path("port");
    String bind = s.path("bind").asText("");
    boolean portOk = true;
    if (port.isMissingNode()) {
      checks.error(path + ".port", "port is required");
      portOk = false;
    } else {
      String proto = port.path("protocol").asText("");
      if (Protocol.parse(proto) == Protocol.UNSUPPORTED) {
        checks.error(
            path + ".port.protocol",
            "invalid protocol \""
                + proto
                + "\", supported protocols are HTTP, HTTP2, GRPC, GRPC-WEB, MONGO, REDIS, MYSQL, TCP");
        portOk = false;
      }
      long number = port.path("number").asLong(0);
      if (number > 0 || !bind.startsWith("unix://")) {
        portOk &= checks.port(number, path + ".port.number");
      }
      if (port.path("targetPort").asLong(0) > 0) {
        checks.error(path + ".port.targetPort", "targetPort has no impact on Gateways");
        portOk = false;
      }
      if (port.path("name").asText("").isEmpty()) {
        checks.error(path + ".port.name", "port name must be set: " + port);
        portOk = false;
      }
    }
    if (bind.startsWith("unix://")) {
      if (port.path("number").asLong(0) != 0) {
        checks.error(path + ".bind", "port number must be 0 for unix domain socket: " + port);
      }
    } else if (!bind.isEmpty() && !Checks.isIp(bind)) {
      checks.error(path + ".bind", bind + " is not a valid IP");
    }
    JsonNode tls = s.path("tls");
    serverTls(tls, path + ".tls");
    if (portOk) {
      Protocol p = Protocol.parse(port.path("protocol").asText());
      if (p.isTls() && tls.isMissingNode()) {
        checks.error(path + ".tls", "server must have TLS settings for HTTPS/TLS protocols");
      } else if (!p.isTls() && !tls.isMissingNode()) {
        if (p.isHttp()) {
          boolean passThrough = tls.path("mode").asText("").equals("PASSTHROUGH");
          if (!tls.path("httpsRedirect").asBoolean(false) && !passThrough
              || !tls.path("caCertificates").asText("").isEmpty()
              || !tls.path("privateKey").asText("").isEmpty()
              || !tls.path("serverCertificate").asText("").isEmpty()) {
            checks.error(
                path + ".tls", "server cannot have TLS settings for plain text HTTP ports");
          }
        } else {
          checks.error(path + ".tls", "server cannot have TLS settings for non HTTPS/TLS ports");
        }
      }
    }
  }

  private void gatewayHost(String host, String path) {
    int slash = host.indexOf('/');
    String hostname = host;
    if (slash >= 0) {
      String ns = host.substring(0, slash);
      hostname = host.substring(slash + 1);
      if (ns.isEmpty() || hostname.isEmpty()) {
        checks.error(path, "config namespace and dnsName in host entry cannot be empty");
      }
      if (!ns.equals("*") && !ns.equals(".") && !Hosts.isDns1123Label(ns)) {
        checks.error(path, "invalid namespace value \"" + ns + "\" in gateway");
      }
    }
    if (!hostname.equals("*") && !hostname.contains(".")) {
      checks.error(path, "short names (non FQDN) are not allowed");
    }
    String err = Checks.wildcardDomain(hostname);
    if (err != null && !Checks.isIp(hostname)) {
      checks.error(path, err);
    }
    if (hostname.contains("*") && hostname.length() != 1 && !hostname.startsWith("*.")) {
      checks.error(path, "partial wildcard \"" + hostname + "\" not allowed");
    }
  }

  private void serverTls(JsonNode tls, String path) {
    if (tls.isMissingNode()) {
      return;
    }
    String mode = tls.path("mode").asText("PASSTHROUGH");
    boolean cert = !tls.path("serverCertificate").asText("").isEmpty();
    boolean key = !tls.path("privateKey").asText("").isEmpty();
    boolean ca = !tls.path("caCertificates").asText("").isEmpty();
    boolean cred = !tls.path("credentialName").asText("").isEmpty();
    boolean creds = !tls.path("credentialNames").isEmpty();
    boolean tlsCerts = !tls.path("tlsCertificates").isEmpty();
    if (mode.equals("ISTIO_MUTUAL")) {
      if (cert) {
        checks.error(path, "ISTIO_MUTUAL TLS cannot have associated server certificate");
      }
      if (key) {
        checks.error(path, "ISTIO_MUTUAL TLS cannot have associated private key");
      }
      if (ca) {
        checks.error(path, "ISTIO_MUTUAL TLS cannot have associated CA bundle");
      }
      if (tlsCerts) {
        checks.error(path, "ISTIO_MUTUAL TLS cannot have associated tlsCertificates");
      }
      if (cred) {
        checks.error(path, "ISTIO_MUTUAL TLS cannot have associated credentialName");
      }
      if (creds) {
        checks.error(path, "ISTIO_MUTUAL TLS cannot have associated credentialNames");
      }
      return;
    }
    int sources = (cert && key ? 1 : 0) + (cred ? 1 : 0) + (creds ? 1 : 0) + (tlsCerts ? 1 : 0);
    if (sources > 1) {
      checks.error(
          path,
          "only one of credential_name, credential_names, server_certificate/private_key, tls_certificates"
              + " should be specified");
    }
    boolean simpleOrMutual =
        mode.equals("SIMPLE") || mode.equals("MUTUAL") || mode.equals("OPTIONAL_MUTUAL");
    if (simpleOrMutual && (cred || creds)) {
      return;
    }
    if (simpleOrMutual) {
      String prefix = mode.equals("SIMPLE") ? "SIMPLE TLS" : "MUTUAL TLS";
      if (!mode.equals("SIMPLE") && !ca) {
        checks.error(path, prefix + " requires a client CA bundle");
      }
      if (tlsCerts) {
        JsonNode certs = tls.get("tlsCertificates");
        for (JsonNode c : certs) {
          if (c.path("serverCertificate").asText("").isEmpty()) {
            checks.error(path, prefix + " requires a server certificate");
          }
          if (c.path("privateKey").asText("").isEmpty()) {
            checks.error(path, prefix + " requires a private key");
          }
        }
      } else {
        if (!cert) {
          checks.error(path, prefix + " requires a server certificate");
        }
        if (!key) {
          checks.error(path, prefix + " requires a private key");
        }
      }
    }
    if (!tls.path("caCrl").asText("").isEmpty()) {
      if (cred) {
        checks.error(
            path,
            "CRL is not supported with credentialName. CRL has to be specified in the credential");
      }
      if (mode.equals("SIMPLE")) {
        checks.error(path, "CRL is not supported with SIMPLE TLS");
      }
    }
  }
}
