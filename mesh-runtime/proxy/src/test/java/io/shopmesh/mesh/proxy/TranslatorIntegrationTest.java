package io.shopmesh.mesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.MeshConfig;
import io.shopmesh.mesh.config.MeshSettings;
import io.shopmesh.mesh.xds.PodPort;
import io.shopmesh.mesh.xds.ProxyNode;
import io.shopmesh.mesh.xds.PushContext;
import io.shopmesh.mesh.xds.ServiceRegistry;
import io.shopmesh.mesh.xds.WorkloadInstance;
import io.shopmesh.mesh.xds.XdsGenerator;
import io.shopmesh.mesh.xds.XdsResources;
import io.vertx.core.http.HttpServer;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The proxy on what the real translator makes of the walkthrough's manifests. */
class TranslatorIntegrationTest {
  static final Path MANIFESTS = Path.of("../../manifests").toAbsolutePath().normalize();
  static final WorkloadInstance GATEWAY_POD =
      new WorkloadInstance(
          "istio-ingressgateway-0",
          "istio-system",
          "127.0.1.100",
          Map.of("istio", "ingressgateway", "app", "istio-ingressgateway"),
          "istio-ingressgateway",
          List.of(new PodPort("http2", 8080, "TCP")),
          false);

  MeshConfig config;
  ServiceRegistry registry;
  Harness h;

  @BeforeEach
  void setUp() {
    config = new ConfigLoader().load(List.of(MANIFESTS)).config();
    List<WorkloadInstance> ws =
        new ArrayList<>(ServiceRegistry.fromDeployments(config).workloads());
    ws.add(GATEWAY_POD);
    registry = new ServiceRegistry(ws);
    h = new Harness();
  }

  @AfterEach
  void tearDown() {
    h.close();
  }

  WorkloadInstance pod(String prefix) {
    return registry.workloads().stream()
        .filter(w -> w.podName().startsWith(prefix))
        .findFirst()
        .orElseThrow();
  }

  Proxy proxyFor(WorkloadInstance w, boolean router) throws Exception {
    return proxyFor(w, router, MeshSettings.DEFAULT);
  }

  Proxy proxyFor(WorkloadInstance w, boolean router, MeshSettings mesh) throws Exception {
    ProxyOptions o = Harness.sidecarOptions(w.podName(), w.workloadName(), "127.0.0.1", w.labels());
    o.namespace = w.namespace();
    if (router) {
      o.role = ProxyOptions.Role.ROUTER;
      o.listenerBind.put(8080, "127.0.0.1:0");
    }
    Proxy p = h.start(o);
    XdsResources r =
        XdsGenerator.generate(
            new PushContext(config, mesh),
            registry,
            router ? ProxyNode.router(w) : ProxyNode.sidecar(w));
    p.apply(r.clusters(), r.endpoints(), r.listeners(), r.routes());
    return p;
  }

  @Test
  void everyProxyAcceptsItsGeneratedConfig() throws Exception {
    for (WorkloadInstance w : registry.workloads()) {
      boolean router = w.podName().startsWith("istio-ingressgateway");
      Proxy p = proxyFor(w, router);
      assertThat(p.state().clusters()).as(w.podName()).isNotEmpty();
      if (router) {
        assertThat(p.port("0.0.0.0_8080")).isPositive();
      }
    }
  }

  @Test
  void frontendSplitsProductTrafficOverSidecarsOfTheRealEndpoints() throws Exception {
    Proxy frontend = proxyFor(pod("frontend"), false);
    // Each product pod's "sidecar inbound": a stub on the pod's own loopback IP, one shared port.
    List<WorkloadInstance> products =
        registry.workloads().stream()
            .filter(w -> w.podName().startsWith("product-service"))
            .toList();
    Map<String, String> versionByIp = new HashMap<>();
    int port = 0;
    List<HttpServer> servers = new ArrayList<>();
    for (int attempt = 0; attempt < 20 && servers.size() < products.size(); attempt++) {
      servers.forEach(HttpServer::close);
      servers.clear();
      port = ThreadLocalRandom.current().nextInt(30_000, 60_000);
      try {
        for (WorkloadInstance w : products) {
          versionByIp.put(w.ip(), w.labels().get("version"));
          HttpServer s =
              h.vertx
                  .createHttpServer()
                  .requestHandler(
                      r ->
                          r.response()
                              .end(
                                  r.localAddress().host()
                                      + " "
                                      + r.getHeader("x-envoy-original-dst-host")));
          s.listen(port, w.ip()).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
          servers.add(s);
        }
      } catch (Exception e) {
        // port taken on some IP: try another
      }
    }
    assertThat(servers).hasSize(products.size());
    frontend.node().options().peerInboundPort = port;
    HttpClient c = Harness.viaProxy(frontend);
    int v1 = 0;
    int n = 1000;
    for (int i = 0; i < n; i++) {
      HttpResponse<String> r = Harness.get(c, "http://product-service:8080/api/products");
      assertThat(r.statusCode()).isEqualTo(200);
      String[] parts = r.body().split(" ");
      assertThat(parts[1]).isEqualTo(parts[0] + ":8080");
      if ("v1".equals(versionByIp.get(parts[0]))) {
        v1++;
      }
    }
    // 80/20 at 99.9%: 800 +- 3.29 * sqrt(1000 * 0.16) = 800 +- 41.6
    assertThat(v1).isBetween(758, 842);
  }

  @TempDir Path tmp;

  /** Stubs on each pod IP at one random shared port (the pods' sidecar inbound port). */
  int podStubs(List<WorkloadInstance> pods, List<HttpServer> servers) {
    for (int attempt = 0; attempt < 20; attempt++) {
      servers.forEach(HttpServer::close);
      servers.clear();
      int port = ThreadLocalRandom.current().nextInt(30_000, 60_000);
      try {
        for (WorkloadInstance w : pods) {
          HttpServer s =
              h.vertx
                  .createHttpServer()
                  .requestHandler(
                      r ->
                          r.response()
                              .end(
                                  r.localAddress().host()
                                      + " "
                                      + r.getHeader("x-envoy-original-dst-host")));
          s.listen(port, w.ip()).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
          servers.add(s);
        }
        return port;
      } catch (Exception e) {
        // port taken on some IP: try another
      }
    }
    throw new AssertionError("no free port");
  }

  /**
   * Istio's outboundTrafficPolicy: ALLOW_ANY passes a host no service declares through to where it
   * was sent; REGISTRY_ONLY answers 502 from the block_all virtual host on a port some service
   * uses, and closes the connection (BlackHoleCluster) on a port no listener has.
   */
  @Test
  void registryOnlyBlocksWhatAllowAnyPassesThrough() throws Exception {
    HttpServer outside =
        h.vertx
            .createHttpServer()
            .requestHandler(r -> r.response().end("outside"))
            .listen(0, "127.0.0.1")
            .toCompletionStage()
            .toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
    int port = outside.actualPort();
    Proxy open = proxyFor(pod("frontend"), false);
    assertThat(Harness.get(Harness.viaProxy(open), "http://127.0.0.1:" + port + "/").body())
        .isEqualTo("outside");
    h.close();
    h = new Harness();

    MeshSettings registryOnly =
        MeshSettings.parse("outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n");
    Proxy closed = proxyFor(pod("frontend"), false, registryOnly);
    HttpClient c = Harness.viaProxy(closed);
    HttpResponse<String> known = Harness.get(c, "http://elsewhere.example.com:8080/");
    assertThat(known.statusCode()).as("port 8080 has a route config: block_all").isEqualTo(502);
    assertThatThrownBy(() -> Harness.get(c, "http://127.0.0.1:" + port + "/"))
        .as("no listener for the port: BlackHoleCluster")
        .isInstanceOf(IOException.class);
    assertThat(Harness.get(c, "http://product-service:8080/q/health").statusCode())
        .as("a declared service is still reachable")
        .isNotEqualTo(502);
    outside.close();
  }

  @Test
  void gatewayRoutesShopExampleComToFrontendPods() throws Exception {
    Proxy gw = proxyFor(GATEWAY_POD, true);
    List<WorkloadInstance> frontends =
        registry.workloads().stream().filter(w -> w.podName().startsWith("frontend")).toList();
    List<HttpServer> servers = new ArrayList<>();
    gw.node().options().peerInboundPort = podStubs(frontends, servers);
    int port = gw.port("0.0.0.0_8080");
    String ok =
        Harness.raw(
            "127.0.0.1",
            port,
            "GET /products HTTP/1.1\r\nHost: shop.example.com\r\n" + "Connection: close\r\n\r\n");
    assertThat(ok)
        .startsWith("HTTP/1.1 200")
        .contains("server: istio-envoy")
        .containsPattern("127\\.0\\.1\\.\\d+:80");
    String nr =
        Harness.raw(
            "127.0.0.1",
            port,
            "GET /products HTTP/1.1\r\nHost: other.example.com\r\n" + "Connection: close\r\n\r\n");
    assertThat(nr).startsWith("HTTP/1.1 404");
  }

  @Test
  void orderServiceOriginatesTlsToThePaymentProvider() throws Exception {
    Path p12 =
        TestCertificates.selfSigned(
            tmp.resolve("provider.p12"),
            "p",
            "CN=api.payment-provider.com",
            "dns:api.payment-provider.com");
    Path certs = tmp.resolve("certs");
    java.nio.file.Files.createDirectories(certs.resolve("payment-provider"));
    TestCertificates.exportPem(p12, "p", certs.resolve("payment-provider/ca.crt"));
    HttpServer tls =
        h.vertx
            .createHttpServer(
                new io.vertx.core.http.HttpServerOptions()
                    .setSsl(true)
                    .setKeyCertOptions(
                        new io.vertx.core.net.PfxOptions()
                            .setPath(p12.toString())
                            .setPassword("changeit")))
            .requestHandler(req -> req.response().end("charged " + req.path()));
    tls.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    Path hosts = tmp.resolve("hosts");
    java.nio.file.Files.writeString(hosts, "127.0.0.1 api.payment-provider.com\n");
    WorkloadInstance w = pod("order-service");
    ProxyOptions o = Harness.sidecarOptions(w.podName(), w.workloadName(), "127.0.0.1", w.labels());
    o.hostsFile = hosts;
    o.certsRoot = certs;
    o.localPortOffset = tls.actualPort() - 443;
    Proxy order = h.start(o);
    XdsResources r = XdsGenerator.generate(config, registry, ProxyNode.sidecar(w));
    order.apply(r.clusters(), r.endpoints(), r.listeners(), r.routes());
    HttpResponse<String> resp =
        Harness.get(Harness.viaProxy(order), "http://api.payment-provider.com/payments");
    assertThat(resp.statusCode()).isEqualTo(200);
    assertThat(resp.body()).isEqualTo("charged /payments");
  }
}
