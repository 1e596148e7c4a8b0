package io.shopmesh.mesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.LoadResult;
import io.shopmesh.mesh.proxy.rbac.RbacEngine;
import io.shopmesh.mesh.xds.authz.RbacBuilder;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The proxy's RBAC engine on rules the translator builds from Istio's operation and condition
 * fields: path templates, not-paths, header values, destination ports, source IP blocks.
 */
class RbacRulesTest {

  record Req(String path, int port, String ip, Map<String, String> headers)
      implements RbacEngine.Request {
    @Override
    public String header(String name) {
      return name.equals(":method") ? "GET" : headers.get(name);
    }

    @Override
    public String urlPath() {
      return path;
    }

    @Override
    public String destinationIp() {
      return "10.0.0.5";
    }

    @Override
    public int destinationPort() {
      return port;
    }

    @Override
    public String directRemoteIp() {
      return ip;
    }

    @Override
    public String remoteIp() {
      return ip;
    }

    @Override
    public String principal() {
      return null;
    }

    @Override
    public String requestedServerName() {
      return "";
    }
  }

  static RbacEngine rules(String rulesYaml) throws Exception {
    String yaml =
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
            + "metadata: {name: p, namespace: default}\nspec:\n"
            + rulesYaml;
    LoadResult r = new ConfigLoader().load(Path.of("p.yaml"), yaml);
    assertThat(r.hasErrors()).as("%s", r.diagnostics()).isFalse();
    var filters = RbacBuilder.forWorkload(r.config(), "default", Map.of()).buildHttp();
    return new RbacEngine(filters.get(0).getTypedConfig().unpack(RBAC.class).getRules());
  }

  static boolean allowed(RbacEngine e, String path, int port, String ip, String... headers) {
    Map<String, String> h = new HashMap<>();
    for (int i = 0; i < headers.length; i += 2) {
      h.put(headers[i], headers[i + 1]);
    }
    return e.evaluate(new Req(path, port, ip, h)).allowed();
  }

  @Test
  void pathTemplatesAndNotPaths() throws Exception {
    RbacEngine e =
        rules(
            """
              rules:
              - to: [{operation: {paths: ["/orders/{*}/items", "/static/{**}"], notPaths: ["/static/private*"]}}]
            """);
    assertThat(allowed(e, "/orders/42/items", 8080, "10.1.1.1")).isTrue();
    assertThat(allowed(e, "/orders/42/x/items", 8080, "10.1.1.1")).isFalse();
    assertThat(allowed(e, "/static/css/site.css", 8080, "10.1.1.1")).isTrue();
    assertThat(allowed(e, "/static/private/key", 8080, "10.1.1.1")).isFalse();
  }

  @Test
  void portsIpBlocksAndHeaders() throws Exception {
    RbacEngine e =
        rules(
            """
              rules:
              - from: [{source: {ipBlocks: ["10.1.0.0/16"], notIpBlocks: ["10.1.9.9"]}}]
                to: [{operation: {ports: ["8080"]}}]
                when:
                - key: request.headers[x-tenant]
                  values: ["shop-*"]
            """);
    assertThat(allowed(e, "/", 8080, "10.1.2.3", "x-tenant", "shop-eu")).isTrue();
    assertThat(allowed(e, "/", 9090, "10.1.2.3", "x-tenant", "shop-eu")).isFalse();
    assertThat(allowed(e, "/", 8080, "10.2.2.3", "x-tenant", "shop-eu")).isFalse();
    assertThat(allowed(e, "/", 8080, "10.1.9.9", "x-tenant", "shop-eu")).isFalse();
    assertThat(allowed(e, "/", 8080, "10.1.2.3", "x-tenant", "other")).isFalse();
    assertThat(allowed(e, "/", 8080, "10.1.2.3")).isFalse();
  }
}
