package io.shopmesh.mesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.LoadResult;
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
 * The ingress gateway on what the translator makes of Gateways and VirtualServices: virtual hosts
 * as Istio builds them (host intersection, no route → 404 NR, httpsRedirect → 301 to https).
 */
class GatewayVirtualHostTest {
  static final WorkloadInstance GATEWAY_POD =
      new WorkloadInstance(
          "istio-ingressgateway-0",
          "istio-system",
          "127.0.1.100",
          Map.of("istio", "ingressgateway", "app", "istio-ingressgateway"),
          "istio-ingressgateway",
          List.of(new PodPort("http2", 8080, "TCP")),
          false);

  static final String GATEWAY =
      """
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata:
        name: shop-gateway
        namespace: default
      spec:
        selector: {istio: ingressgateway}
        servers:
        - port: {number: 80, name: http, protocol: HTTP}
          hosts: [shop.example.com]
        - port: {number: 80, name: http-admin, protocol: HTTP}
          hosts: [admin.example.com, docs.example.com]
          tls: {httpsRedirect: true}
      """;

  /** A VirtualService for every host, answering itself (no upstream needed). */
  static final String CATCH_ALL_VS =
      """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata:
        name: everything
        namespace: default
      spec:
        hosts: ["*"]
        gateways: [shop-gateway]
        http:
        - directResponse: {status: 200, body: {string: "served"}}
      """;

  @TempDir Path dir;
  Harness h;
  int port;

  @BeforeEach
  void setUp() throws Exception {
    h = new Harness();
    Files.writeString(dir.resolve("config.yaml"), GATEWAY + "---\n" + CATCH_ALL_VS);
    LoadResult loaded = new ConfigLoader().load(List.of(dir));
    assertThat(loaded.hasErrors()).as(loaded.diagnostics().toString()).isFalse();
    ProxyOptions o =
        Harness.sidecarOptions(
            GATEWAY_POD.podName(), GATEWAY_POD.workloadName(), "127.0.0.1", GATEWAY_POD.labels());
    o.namespace = GATEWAY_POD.namespace();
    o.role = ProxyOptions.Role.ROUTER;
    o.listenerBind.put(8080, "127.0.0.1:0");
    Proxy gw = h.start(o);
    XdsResources r =
        XdsGenerator.generate(
            loaded.config(),
            new ServiceRegistry(List.of(GATEWAY_POD)),
            ProxyNode.router(GATEWAY_POD));
    gw.apply(r.clusters(), r.endpoints(), r.listeners(), r.routes());
    port = gw.port("0.0.0.0_8080");
  }

  @AfterEach
  void tearDown() {
    h.close();
  }

  String get(String host, String path) throws Exception {
    return Harness.raw(
        "127.0.0.1",
        port,
        "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
  }

  @Test
  void aVirtualServiceForEveryHostServesOnlyTheServerHosts() throws Exception {
    assertThat(get("shop.example.com", "/")).startsWith("HTTP/1.1 200").endsWith("served");
    // the port is ignored when matching the host, as Istio's gateway route configs say
    assertThat(get("shop.example.com:8080", "/")).startsWith("HTTP/1.1 200");
    // not a server host: no virtual host, 404 NR (not the VirtualService's "*")
    assertThat(get("other.example.com", "/")).startsWith("HTTP/1.1 404");
  }

  @Test
  void httpsRedirectAnswers301ToHttpsEvenWithoutAVirtualService() throws Exception {
    String r = get("admin.example.com:8080", "/console?tab=1");
    assertThat(r)
        .startsWith("HTTP/1.1 301")
        .containsIgnoringCase("location: https://admin.example.com:8080/console?tab=1");
    assertThat(get("docs.example.com", "/")).startsWith("HTTP/1.1 301");
  }
}
