package io.shopmesh.mesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.LoadResult;
import io.shopmesh.mesh.proxy.rbac.RbacEngine;
import io.shopmesh.mesh.proxy.rbac.RbacFilter;
import io.shopmesh.mesh.xds.authz.RbacBuilder;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Principals as the proxy sees them: the URI SAN of a client certificate (a SPIFFE id) read from
 * the certificate, matched by the rules the translator builds from {@code from.source.principals}
 * and {@code namespaces}; no certificate (plain text) matches no principal rule.
 */
class RbacPrincipalTest {
  @TempDir Path tmp;

  static final String FRONTEND = "spiffe://cluster.local/ns/default/sa/shop-frontend";

  /** A request with the given principal (null: plain text). */
  record Req(String method, String urlPath, String principal) implements RbacEngine.Request {
    @Override
    public String header(String name) {
      return name.equals(":method") ? method : null;
    }

    @Override
    public String destinationIp() {
      return "10.0.0.5";
    }

    @Override
    public int destinationPort() {
      return 8080;
    }

    @Override
    public String directRemoteIp() {
      return "10.0.0.7";
    }

    @Override
    public String remoteIp() {
      return "10.0.0.7";
    }

    @Override
    public String requestedServerName() {
      return "";
    }
  }

  static RbacEngine allowRules(String yaml) throws Exception {
    LoadResult r = new ConfigLoader().load(Path.of("p.yaml"), yaml);
    assertThat(r.hasErrors()).as("%s", r.diagnostics()).isFalse();
    List<HttpFilter> filters =
        RbacBuilder.forWorkload(r.config(), "default", Map.of("app", "order-service")).buildHttp();
    assertThat(filters).hasSize(1);
    return new RbacEngine(filters.get(0).getTypedConfig().unpack(RBAC.class).getRules());
  }

  @Test
  void principalsAndNamespacesMatchTheCertificatesSpiffeId() throws Exception {
    RbacEngine e =
        allowRules(
            """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: order, namespace: default}
            spec:
              selector: {matchLabels: {app: order-service}}
              rules:
              - from: [{source: {principals: [cluster.local/ns/default/sa/shop-frontend]}}]
                to: [{operation: {methods: [POST]}}]
              - from: [{source: {namespaces: [payments]}}]
            """);
    assertThat(e.evaluate(new Req("POST", "/orders", FRONTEND)).allowed()).isTrue();
    assertThat(e.evaluate(new Req("GET", "/orders", FRONTEND)).allowed()).isFalse();
    assertThat(
            e.evaluate(
                    new Req("POST", "/orders", "spiffe://cluster.local/ns/default/sa/shop-product"))
                .allowed())
        .isFalse();
    assertThat(e.evaluate(new Req("POST", "/orders", null)).allowed()).isFalse();
    assertThat(
            e.evaluate(new Req("GET", "/x", "spiffe://cluster.local/ns/payments/sa/any")).policy())
        .isEqualTo("ns[default]-policy[order]-rule[1]");
  }

  @Test
  void thePrincipalIsTheUriSanOfTheClientCertificate() throws Exception {
    KeyStore ks =
        TestCertificates.load(
            TestCertificates.selfSigned(
                tmp.resolve("client.p12"), "c", "O=cluster.local", "uri:" + FRONTEND));
    assertThat(RbacFilter.uriSan(List.of(ks.getCertificate("c")))).isEqualTo(FRONTEND);
    assertThat(RbacFilter.uriSan(List.of())).isEmpty();
  }
}
