package io.shopmesh.mesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.LoadResult;
import io.shopmesh.mesh.config.MeshConfig;
import io.shopmesh.mesh.xds.PodPort;
import io.shopmesh.mesh.xds.ProxyNode;
import io.shopmesh.mesh.xds.ServiceRegistry;
import io.shopmesh.mesh.xds.WorkloadInstance;
import io.shopmesh.mesh.xds.XdsGenerator;
import io.shopmesh.mesh.xds.XdsResources;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A VirtualService rule with {@code sourceLabels} / {@code sourceNamespace} applies to the clients
 * it selects and no others: each sidecar routes by what the translator built for it.
 */
class SourceLabelsRoutingTest {
  static final String CONFIG =
      """
      apiVersion: v1
      kind: Service
      metadata:
        name: product-service
        namespace: default
      spec:
        selector: {app: product-service}
        ports:
        - {name: http, port: 8080, targetPort: 8080}
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata:
        name: product-vs
        namespace: default
      spec:
        hosts: [product-service]
        http:
        - match: [{sourceLabels: {app: frontend}}]
          directResponse: {status: 200, body: {string: "for-frontend"}}
        - match: [{sourceNamespace: shop}]
          directResponse: {status: 200, body: {string: "for-shop"}}
        - directResponse: {status: 200, body: {string: "for-everyone"}}
      """;

  @TempDir Path dir;
  Harness h;
  MeshConfig config;
  ServiceRegistry registry;

  @BeforeEach
  void setUp() throws Exception {
    h = new Harness();
    Files.writeString(dir.resolve("config.yaml"), CONFIG);
    LoadResult loaded = new ConfigLoader().load(List.of(dir));
    assertThat(loaded.hasErrors()).as(loaded.diagnostics().toString()).isFalse();
    config = loaded.config();
    registry = new ServiceRegistry(List.of(pod("product-service-0", "default", "product-service")));
  }

  @AfterEach
  void tearDown() {
    h.close();
  }

  static WorkloadInstance pod(String name, String ns, String app) {
    return new WorkloadInstance(
        name,
        ns,
        "127.0.0.1",
        Map.of("app", app),
        app,
        List.of(new PodPort("http", 8080, "TCP")),
        true);
  }

  String ask(WorkloadInstance client) throws Exception {
    ProxyOptions o =
        Harness.sidecarOptions(
            client.podName(), client.workloadName(), "127.0.0.1", client.labels());
    o.namespace = client.namespace();
    Proxy p = h.start(o);
    XdsResources r = XdsGenerator.generate(config, registry, ProxyNode.sidecar(client));
    p.apply(r.clusters(), r.endpoints(), r.listeners(), r.routes());
    String resp =
        Harness.raw(
            "127.0.0.1",
            p.port("outbound"),
            "GET http://product-service.default:8080/ HTTP/1.1\r\n"
                + "Host: product-service.default:8080\r\nConnection: close\r\n\r\n");
    assertThat(resp).startsWith("HTTP/1.1 200");
    return resp.substring(resp.indexOf("\r\n\r\n") + 4);
  }

  @Test
  void eachClientGetsTheRulesThatSelectIt() throws Exception {
    assertThat(ask(pod("frontend-0", "default", "frontend"))).isEqualTo("for-frontend");
    assertThat(ask(pod("order-0", "default", "order"))).isEqualTo("for-everyone");
    assertThat(ask(pod("cart-0", "shop", "cart"))).isEqualTo("for-shop");
  }
}
