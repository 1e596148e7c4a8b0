package io.shopmesh.mesh.istiod;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.shopmesh.mesh.testing.AdsTestClient;
import io.shopmesh.mesh.testing.Manifests;
import io.shopmesh.mesh.xds.PodPort;
import io.shopmesh.mesh.xds.ProxyNode;
import io.shopmesh.mesh.xds.WorkloadInstance;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * istiod end to end on ephemeral ports: a real gRPC ADS client connects as the frontend sidecar,
 * gets LDS/RDS/CDS/EDS and ACKs; config changes in the watched directory reach it after the
 * debounce; invalid config is reported and never pushed; a second proxy's pod appears in EDS.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class IstiodIntegrationTest {

  static final Path MANIFESTS = Manifests.dir();
  static final String V1 = "outbound|8080|v1|product-service.default.svc.cluster.local";
  static final String V2 = "outbound|8080|v2|product-service.default.svc.cluster.local";

  Path dir;
  Istiod istiod;
  AdsTestClient frontend;
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  static final WorkloadInstance FRONTEND =
      new WorkloadInstance(
          "frontend-0",
          "default",
          "127.0.1.1",
          Map.of("app", "frontend", "version", "v1"),
          "frontend",
          List.of(new PodPort("http", 80, "TCP")),
          true);
  static final WorkloadInstance PRODUCT_V2 =
      new WorkloadInstance(
          "product-service-v2-0",
          "default",
          "127.0.1.7",
          Map.of("app", "product-service", "version", "v2"),
          "product-service-v2",
          List.of(new PodPort(null, 8080, "TCP")),
          true);

  @BeforeAll
  void start() throws IOException {
    dir = Files.createTempDirectory("istiod-it");
    try (Stream<Path> s = Files.list(MANIFESTS)) {
      for (Path p : s.filter(p -> p.toString().endsWith(".yaml")).toList()) {
        Files.copy(p, dir.resolve(p.getFileName()));
      }
    }
    istiod = new Istiod(new DirectoryConfigSource(dir, 500)).start("127.0.0.1", 0, 0);
  }

  @AfterAll
  void stop() throws IOException {
    if (frontend != null) frontend.close();
    if (istiod != null) istiod.close();
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  @Order(1)
  void frontendSidecarReceivesAllTypesAndAcks() throws Exception {
    frontend = new AdsTestClient(istiod.xdsPort(), ProxyNode.sidecar(FRONTEND).toNode());
    await(frontend::hasAll, 10_000);
    await(() -> allSynced(FRONTEND.podName()), 5_000);

    RouteConfiguration rc = frontend.route("8080");
    assertThat(weights(rc)).containsExactly(80, 20);
    JsonNode syncz = get("/debug/syncz");
    assertThat(syncz).hasSize(1);
    assertThat(syncz.get(0).get("proxy").asText())
        .isEqualTo("sidecar~127.0.1.1~frontend-0.default~default.svc.cluster.local");
    for (String t : List.of("CDS", "LDS", "EDS", "RDS")) {
      assertThat(syncz.get(0).get(t).get("status").asText()).as(t).isEqualTo("SYNCED");
    }
    JsonNode registry = get("/debug/registryz");
    assertThat(registry.get(0).get("name").asText()).isEqualTo("frontend-0");
    assertThat(metrics()).contains("pilot_xds 1.0");
  }

  @Test
  @Order(2)
  void changedVirtualServiceArrivesAfterTheDebounce() throws Exception {
    frontend.received.clear();
    long cdsPushes = istiod.metrics().pushes("cds");
    String lds = frontend.latest.get("LDS").version();
    long t0 = System.nanoTime();
    Files.copy(
        MANIFESTS.resolve("variants/product-virtualservice-50-50.yaml"),
        dir.resolve("product-virtualservice.yaml"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    AdsTestClient.Received rds = frontend.next("RDS", 5_000);
    assertThat(rds).as("new RDS").isNotNull();
    long millis = TimeUnit.NANOSECONDS.toMillis(rds.nanos() - t0);
    System.out.println(
        "[figure] VirtualService file write -> RDS received: "
            + millis
            + " ms (debounce "
            + Istiod.DEBOUNCE_AFTER_MS
            + " ms)");
    assertThat(weights(frontend.route("8080"))).containsExactly(50, 50);
    // debounce plus reload and translation; generous bound for a loaded shared 2-core machine
    assertThat(millis)
        .isGreaterThanOrEqualTo(Istiod.DEBOUNCE_AFTER_MS - 5)
        .isLessThan(Istiod.DEBOUNCE_AFTER_MS + 3000);
    // only the routes changed: no CDS/LDS push
    Thread.sleep(300);
    assertThat(istiod.metrics().pushes("cds")).isEqualTo(cdsPushes);
    assertThat(frontend.latest.get("LDS").version()).isEqualTo(lds);
    await(() -> allSynced(FRONTEND.podName()), 5_000);
  }

  @Test
  @Order(3)
  void invalidVirtualServiceIsReportedAndNeverPushed() throws Exception {
    frontend.received.clear();
    long pushes = totalPushes();
    Files.writeString(
        dir.resolve("product-virtualservice.yaml"),
        Manifests.productVirtualService().replaceFirst("weight: 80", "weight: fifty"));
    await(() -> istiod.store().rejectedTotal() > 0, 5_000);
    Thread.sleep(500);
    assertThat(frontend.received).as("nothing pushed").isEmpty();
    assertThat(totalPushes()).isEqualTo(pushes);
    assertThat(weights(frontend.route("8080"))).containsExactly(50, 50);

    JsonNode configz = get("/debug/configz");
    assertThat(configz.get("errors").get(0).asText()).contains("product-virtualservice.yaml:");
    assertThat(configz.get("rejected_total").asInt()).isGreaterThanOrEqualTo(1);
    boolean lastGood = false;
    for (JsonNode r : configz.get("resources")) {
      if (r.get("name").asText().equals("product-vs"))
        lastGood = r.get("status").asText().startsWith("LAST_GOOD");
    }
    assertThat(lastGood).as("product-vs serves its last good version").isTrue();
    assertThat(metrics()).containsPattern("pilot_config_rejects [1-9]");
    JsonNode syncz = get("/debug/syncz");
    assertThat(syncz.get(0).get("RDS").get("status").asText()).isEqualTo("SYNCED");

    // well-formed YAML that fails validation: the error names the resource, which keeps its last
    // good version
    long rejected = istiod.store().rejectedTotal();
    Files.writeString(
        dir.resolve("product-virtualservice.yaml"),
        Manifests.productVirtualService().replace("timeout: 5s ", "timeout: soon "));
    await(() -> istiod.store().rejectedTotal() > rejected, 5_000);
    Thread.sleep(500);
    assertThat(frontend.received).as("nothing pushed").isEmpty();
    assertThat(totalPushes()).isEqualTo(pushes);
    assertThat(get("/debug/configz").get("errors").get(0).asText())
        .contains("VirtualService default/product-vs")
        .contains("product-virtualservice.yaml:");
    assertThat(weights(frontend.route("8080"))).containsExactly(50, 50);
  }

  @Test
  @Order(4)
  void secondProxyAppearsInEdsAndLeavesOnDisconnect() throws Exception {
    assertThat(frontend.endpoints(V2).getEndpointsCount()).isZero();
    try (AdsTestClient product =
        new AdsTestClient(istiod.xdsPort(), ProxyNode.sidecar(PRODUCT_V2).toNode())) {
      await(() -> addresses(V2).contains("127.0.1.7:8080"), 5_000);
      LbEndpoint ep = frontend.endpoints(V2).getEndpoints(0).getLbEndpoints(0);
      assertThat(
              ep.getMetadata()
                  .getFilterMetadataOrThrow("envoy.transport_socket_match")
                  .getFieldsOrThrow("tlsMode")
                  .getStringValue())
          .isEqualTo("istio");
      assertThat(
              ep.getMetadata()
                  .getFilterMetadataOrThrow("istio")
                  .getFieldsOrThrow("workload")
                  .getStringValue())
          .isEqualTo("product-service-v2;default;product-service;v2;Kubernetes");
      assertThat(addresses(V1)).isEmpty();
      await(product::hasAll, 5_000);
      assertThat(get("/debug/syncz")).hasSize(2);
    }
    await(() -> addresses(V2).isEmpty(), 5_000);
    assertThat(get("/debug/syncz")).hasSize(1);

    // a proxy reconnecting with the versions it already has is still answered on its new stream
    Map<String, String> had =
        Map.of(
            io.envoyproxy.controlplane.cache.Resources.V3.CLUSTER_TYPE_URL,
                frontend.latest.get("CDS").version(),
            io.envoyproxy.controlplane.cache.Resources.V3.LISTENER_TYPE_URL,
                frontend.latest.get("LDS").version());
    WorkloadInstance again =
        new WorkloadInstance(
            "frontend-1",
            "default",
            "127.0.1.2",
            FRONTEND.labels(),
            "frontend",
            FRONTEND.ports(),
            true);
    try (AdsTestClient reconnecting =
        new AdsTestClient(istiod.xdsPort(), ProxyNode.sidecar(again).toNode(), had)) {
      await(reconnecting::hasAll, 5_000);
      await(() -> allSynced("frontend-1"), 5_000);
    }
    await(
        () -> {
          try {
            return get("/debug/syncz").size() == 1;
          } catch (Exception e) {
            return false;
          }
        },
        5_000);
  }

  @Test
  @Order(5)
  void nackIsCountedAndTheProxyKeepsItsConfig() throws Exception {
    String ackedRds = frontend.latest.get("RDS").version();
    frontend.nackNext = "RDS";
    frontend.received.clear();
    Files.copy(
        MANIFESTS.resolve("product-virtualservice.yaml"),
        dir.resolve("product-virtualservice.yaml"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    await(() -> istiod.metrics().totalRejects() > 0, 5_000);
    Thread.sleep(500);
    // one rejected response, no resend loop
    assertThat(frontend.received.stream().filter(r -> r.type().equals("RDS")).count()).isEqualTo(1);
    assertThat(frontend.latest.get("RDS").version()).isEqualTo(ackedRds);
    JsonNode rds = get("/debug/syncz").get(0).get("RDS");
    assertThat(rds.get("status").asText()).isEqualTo("STALE");
    assertThat(rds.get("last_nack_error").asText()).contains("test rejects this RDS");
    assertThat(rds.get("version_acked").asText()).isEqualTo(ackedRds);
    assertThat(metrics()).containsPattern("pilot_total_xds_rejects [1-9]");
  }

  @Test
  @Order(6)
  void applyValidatesAndWritesIntoTheWatchedDirectory() throws Exception {
    HttpResponse<String> bad =
        post("/apply", Manifests.productVirtualService().replace("timeout: 5s ", "timeout: soon "));
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(bad.body()).contains("diagnostics");
    frontend.received.clear();
    String yaml = Files.readString(MANIFESTS.resolve("variants/product-virtualservice-50-50.yaml"));
    HttpResponse<String> ok = post("/apply", yaml);
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    assertThat(ok.body()).contains("virtualservice.networking.istio.io/product-vs configured");
    assertThat(Files.readString(dir.resolve("product-virtualservice.yaml"))).contains("weight: 50");
    AdsTestClient.Received rds = frontend.next("RDS", 5_000);
    assertThat(rds).isNotNull();
    assertThat(weights(frontend.route("8080"))).containsExactly(50, 50);
    assertThat(get("/ready")).isNull();
  }

  // ------------------------------------------------------------------ helpers

  private List<String> addresses(String cluster) {
    try {
      ClusterLoadAssignment cla = frontend.endpoints(cluster);
      List<String> out = new ArrayList<>();
      if (cla == null) return out;
      cla.getEndpointsList()
          .forEach(
              l ->
                  l.getLbEndpointsList()
                      .forEach(
                          e ->
                              out.add(
                                  e.getEndpoint().getAddress().getSocketAddress().getAddress()
                                      + ":"
                                      + e.getEndpoint()
                                          .getAddress()
                                          .getSocketAddress()
                                          .getPortValue())));
      return out;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<Integer> weights(RouteConfiguration rc) {
    return weightsOf(rc);
  }

  static List<Integer> weightsOf(RouteConfiguration rc) {
    if (rc == null) return List.of();
    for (VirtualHost vh : rc.getVirtualHostsList()) {
      if (vh.getName().startsWith("product-service.")) {
        List<Integer> out = new ArrayList<>();
        for (WeightedCluster.ClusterWeight cw :
            vh.getRoutes(0).getRoute().getWeightedClusters().getClustersList()) {
          out.add(cw.getWeight().getValue());
        }
        return out;
      }
    }
    return List.of();
  }

  private boolean allSynced(String pod) {
    try {
      for (JsonNode p : get("/debug/syncz")) {
        if (!p.get("pod").asText().equals(pod)) continue;
        for (String t : List.of("CDS", "LDS", "EDS", "RDS")) {
          if (!p.get(t).get("status").asText().equals("SYNCED")) return false;
        }
        return true;
      }
      return false;
    } catch (Exception e) {
      return false;
    }
  }

  private long totalPushes() {
    return List.of("cds", "eds", "lds", "rds").stream()
        .mapToLong(t -> istiod.metrics().pushes(t))
        .sum();
  }

  private JsonNode get(String path) throws IOException, InterruptedException {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + istiod.httpPort() + path))
                .timeout(Duration.ofSeconds(5))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    if (!r.headers().firstValue("Content-Type").orElse("").contains("json")) return null;
    return DebugServer.JSON.readTree(r.body());
  }

  private String metrics() throws IOException, InterruptedException {
    return http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + istiod.httpPort() + "/metrics"))
                .timeout(Duration.ofSeconds(5))
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }

  private HttpResponse<String> post(String path, String body)
      throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + istiod.httpPort() + path))
            .timeout(Duration.ofSeconds(5))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static void await(BooleanSupplier cond, long timeoutMillis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline)
        throw new AssertionError("condition not met within " + timeoutMillis + " ms");
      Thread.sleep(10);
    }
  }
}
