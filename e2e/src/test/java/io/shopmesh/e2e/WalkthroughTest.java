package io.shopmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.shopmesh.mesh.testing.Manifests;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The walkthrough (../shared/WALKTHROUGH.md, docs/walkthrough.md) as tests, against a running mesh.
 * Every test leaves the mesh as it found it (80/20, no faults), so they also pass one by one.
 */
@ExtendWith(MeshExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(300)
class WalkthroughTest {

  static final String PRODUCT = "product-service.default.svc.cluster.local";
  static final String PRODUCT_REQUESTS =
      "istio_requests_total{destination_service=\"" + PRODUCT + "\"}";
  static final ObjectMapper JSON = new ObjectMapper();
  static final Pattern STATUS = Pattern.compile("\"status\"\\s*:\\s*\"([A-Z_]+)\"");

  static MeshTarget mesh;
  static ShopClient shop;
  static Path manifests;
  static final HttpClient HTTP =
      HttpClient.newBuilder()
          .connectTimeout(Duration.ofSeconds(3))
          .version(HttpClient.Version.HTTP_1_1)
          .build();

  @BeforeAll
  static void setUp(MeshTarget target) {
    mesh = target;
    shop = new ShopClient(target.gateway());
    manifests = target.home().resolve("manifests");
  }

  // ---- 1. the gateway (walkthrough sections 2 and 3)

  @Test
  @Order(1)
  void gatewayServesTheShopForItsHostOnly() {
    ShopClient.Response page = shop.get("/");
    assertThat(page.status()).isEqualTo(200);
    assertThat(page.body().toLowerCase()).contains("<html");
    assertThat(page.body())
        .as("rendered on the server: the badge names the version and pod that served the products")
        .containsPattern("class=\"badge (v[12])\">\\1 · product-service-\\1-")
        .contains("<div class=\"card\">");
    ShopClient.Response other = shop.send("other.example.com", "GET", "/", null);
    assertThat(other.status()).as("a host no Gateway server lists").isEqualTo(404);
  }

  // ---- 2. the 80/20 split, from the responses and from istio_requests_total (sections 3 and 5)

  @Test
  @Order(2)
  void productCallsSplit80To20() throws InterruptedException {
    Map<String, Double> before = mesh.metricBy(PRODUCT_REQUESTS, "destination_version");
    int n = 600;
    ShopClient.Tally t = shop.products(n);
    assertThat(t.status(200)).as(t.toString()).isEqualTo(n);
    assertThat(t.version("v1") + t.version("v2")).as(t.toString()).isEqualTo(n);
    Binomial.Interval v2 = Binomial.of(n, 0.2);
    assertThat((double) t.version("v2"))
        .as("v2 answers of %d, %s, expected in %s", n, t, v2)
        .matches(v2::contains);

    Map<String, Double> after = mesh.metricBy(PRODUCT_REQUESTS, "destination_version");
    double d1 = after.getOrDefault("v1", 0.0) - before.getOrDefault("v1", 0.0);
    double d2 = after.getOrDefault("v2", 0.0) - before.getOrDefault("v2", 0.0);
    assertThat(d1 + d2).as("requests counted by istio_requests_total").isGreaterThanOrEqualTo(n);
    // each request is counted by the same reporters whatever its version, so the share is the split
    double share = d2 / (d1 + d2) * n;
    assertThat(share)
        .as("v2 share by destination_version (v1 %s, v2 %s), expected in %s", d1, d2, v2)
        .matches(v2::contains);
  }

  // ---- 3. header-based routing (section 7)

  @Test
  @Order(3)
  void premiumUsersAlwaysReachV2() throws InterruptedException {
    try {
      applyOk(manifests.resolve("variants/product-virtualservice-header-routing.yaml"));
      Thread.sleep(1000);
      ShopClient.Tally premium = shop.products(200, "x-user", "premium");
      assertThat(premium.version("v2")).as(premium.toString()).isEqualTo(200);
      ShopClient.Tally others = shop.products(100);
      assertThat(others.version("v1")).as("others still split: " + others).isPositive();
    } finally {
      applyOk(manifests.resolve("product-virtualservice.yaml"));
    }
  }

  // ---- 4. changing the split live (section 6), and a rejected change

  @Test
  @Order(4)
  void applyingFiftyFiftyChangesTheSplitWithinASecondAndBack() throws Exception {
    try {
      applyOk(manifests.resolve("variants/product-virtualservice-50-50.yaml"));
      Thread.sleep(1000);
      int n = 400;
      ShopClient.Tally half = shop.products(n);
      Binomial.Interval even = Binomial.of(n, 0.5);
      assertThat((double) half.version("v2"))
          .as("50/50: %s, expected v2 in %s", half, even)
          .matches(even::contains);

      Path invalid =
          Files.writeString(
              Files.createTempFile("invalid-vs", ".yaml"),
              Manifests.productVirtualService().replace("timeout: 5s ", "timeout: 5 seconds "));
      MeshTarget.Result rejected = mesh.apply(invalid);
      assertThat(rejected.exitCode()).as(rejected.output()).isNotZero();
      assertThat(rejected.output()).contains("Error");
      assertThat(weights(frontendPod()))
          .as("the running config is unchanged")
          .containsValues(50, 50);
    } finally {
      applyOk(manifests.resolve("product-virtualservice.yaml"));
    }
    Thread.sleep(1000);
    int n = 600;
    ShopClient.Tally back = shop.products(n);
    Binomial.Interval v2 = Binomial.of(n, 0.2);
    assertThat((double) back.version("v2"))
        .as("back to 80/20: %s, expected v2 in %s", back, v2)
        .matches(v2::contains);
  }

  // ---- 5. retries and timeouts (section 4)

  @Test
  @Order(5)
  void retriesHideAFailingReplica() throws Exception {
    MeshTarget.Pod victim =
        mesh.pods().stream()
            .filter(p -> p.workload().equals("product-service-v1"))
            .findFirst()
            .orElseThrow();
    mesh.kill(victim.name(), null);
    try {
      ShopClient.Tally t = shop.products(200);
      assertThat(t.status(200)).as(t.toString()).isEqualTo(200);
      assertThat(t.version("v1") + t.version("v2")).as("no fallback page: " + t).isEqualTo(200);
    } finally {
      mesh.awaitReady(Duration.ofMinutes(2));
    }
  }

  @Test
  @Order(6)
  void aProductSlowerThanTheTimeoutGives504After5Seconds() throws Exception {
    List<MeshTarget.Pod> products =
        mesh.pods().stream().filter(p -> p.workload().startsWith("product-service")).toList();
    String timeouts =
        "istio_requests_total{reporter=\"source\",destination_service=\""
            + PRODUCT
            + "\",response_code=\"504\"}";
    double before = mesh.metric(timeouts);
    products.forEach(p -> mesh.pause(p.name()));
    ShopClient.Response r;
    try {
      r = shop.get("/products");
    } finally {
      products.forEach(p -> mesh.resume(p.name()));
    }
    // the frontend turns the mesh's 504 into its fallback; the time says who gave up: the mesh at
    // timeout 5s (perTryTimeout 2s, 3 retries), not the REST client's 8 s backstop
    assertThat(r.millis()).as("answered after the route timeout").isBetween(4_500L, 7_500L);
    assertThat(r.version()).isEqualTo("unavailable");
    assertThat(mesh.metric(timeouts) - before)
        .as("504s the frontend's sidecar reported")
        .isGreaterThanOrEqualTo(1);
    ShopClient.Tally t = shop.products(20);
    assertThat(t.status(200)).isEqualTo(20);
  }

  // ---- 6. the external payment API (section 8)

  @Test
  @Order(7)
  void ordersArePaidOnceWhileTheProviderFailsHalfItsCalls() throws Exception {
    provider("POST", "/admin/reset", null);
    provider("DELETE", "/admin/faults", null);
    try {
      // deterministic first: two failures before each success, retried by payment-vs
      for (int i = 0; i < 5; i++) {
        provider("POST", "/admin/faults", "{\"failNext\":2,\"statusCode\":503}");
        ShopClient.Response r = order();
        assertThat(orderStatus(r)).as(r.body()).isEqualTo("PAID");
      }
      assertThat(charges()).as("one charge per order").isEqualTo(5);

      provider("POST", "/admin/faults", "{\"errorRate\":0.5,\"statusCode\":503}");
      int paid = 0;
      int n = 30;
      for (int i = 0; i < n; i++) {
        ShopClient.Response r = order();
        String status = orderStatus(r);
        assertThat(status).as(r.body()).isIn("PAID", "PAYMENT_FAILED");
        paid += status.equals("PAID") ? 1 : 0;
      }
      // 4 tries at 50%: 15 of 16 orders are paid; 21 of 30 is far below what retries give
      assertThat(paid).as("paid orders of %d", n).isGreaterThanOrEqualTo(21);
      assertThat(charges()).as("exactly one charge per paid order").isEqualTo(5 + paid);
    } finally {
      provider("DELETE", "/admin/faults", null);
    }
  }

  @Test
  @Order(8)
  void aProviderSlowerThan10SecondsGivesTheTimeout() throws Exception {
    provider("DELETE", "/admin/faults", null);
    provider("POST", "/admin/faults", "{\"latencyMs\":11000}");
    ShopClient.Response r;
    try {
      r = order();
    } finally {
      provider("DELETE", "/admin/faults", null);
    }
    // perTryTimeout 2s x (1 + 3 attempts) ends it before timeout 10s; never the app's 15 s backstop
    assertThat(orderStatus(r)).as(r.body()).isEqualTo("PAYMENT_FAILED");
    assertThat(r.millis()).isBetween(6_000L, 11_500L);
  }

  // ---- 7. proxy-config (section 5)

  @Test
  @Order(9)
  void proxyConfigShowsTheWeightedClusters() throws IOException {
    assertThat(weights(frontendPod()))
        .containsEntry("outbound|8080|v1|" + PRODUCT, 80)
        .containsEntry("outbound|8080|v2|" + PRODUCT, 20);
    MeshTarget.Result shortForm = mesh.proxyConfig("routes", frontendPod(), "--name", "8080");
    assertThat(shortForm.output())
        .contains("VIRTUAL SERVICE")
        .contains("product-service.default.svc.cluster.local:8080");
  }

  // ---- 8. analyze

  @Test
  @Order(10)
  void analyzeReportsNoErrorOnTheRunningConfig() {
    MeshTarget.Result r = mesh.analyze();
    assertThat(r.exitCode()).as(r.output()).isZero();
    assertThat(r.output()).doesNotContain("Error [");
  }

  // ---- helpers

  static void applyOk(Path file) {
    MeshTarget.Result r = mesh.apply(file);
    assertThat(r.exitCode()).as("apply %s: %s", file, r.output()).isZero();
  }

  static String frontendPod() {
    return mesh.pods().stream()
        .filter(p -> p.workload().equals("frontend"))
        .findFirst()
        .orElseThrow()
        .name();
  }

  /**
   * Weighted clusters of route config 8080 as the frontend's proxy holds them (proxy-config -o
   * json).
   */
  static Map<String, Integer> weights(String pod) throws IOException {
    MeshTarget.Result r = mesh.proxyConfig("routes", pod, "--name", "8080", "-o", "json");
    assertThat(r.exitCode()).as(r.output()).isZero();
    String json = r.output().substring(r.output().indexOf('['));
    Map<String, Integer> out = new HashMap<>();
    collectWeights(JSON.readTree(json), out);
    return out;
  }

  static void collectWeights(JsonNode n, Map<String, Integer> out) {
    if (n.isObject()) {
      JsonNode wc =
          n.has("weighted_clusters") ? n.get("weighted_clusters") : n.get("weightedClusters");
      if (wc != null) {
        for (JsonNode c : wc.path("clusters")) {
          JsonNode w = c.get("weight");
          out.put(
              c.path("name").asText(),
              w == null ? 0 : w.isObject() ? w.path("value").asInt() : w.asInt());
        }
      }
    }
    n.forEach(child -> collectWeights(child, out));
  }

  static ShopClient.Response order() {
    ShopClient.Response r =
        shop.send(
            ShopClient.HOST,
            "POST",
            "/orders",
            "{\"productId\":1,\"quantity\":1,\"customer\":\"e2e\"}");
    assertThat(r.status()).as(r.body()).isIn(200, 201);
    return r;
  }

  static String orderStatus(ShopClient.Response r) {
    Matcher m = STATUS.matcher(r.body());
    assertThat(m.find()).as("order status in " + r.body()).isTrue();
    return m.group(1);
  }

  static long charges() throws Exception {
    String body = provider("GET", "/v1/charges/count", null);
    Matcher m = Pattern.compile("\"count\"\\s*:\\s*(\\d+)").matcher(body);
    assertThat(m.find()).as(body).isTrue();
    return Long.parseLong(m.group(1));
  }

  static String provider(String method, String path, String json) throws Exception {
    URI uri = mesh.paymentProvider().resolve(path);
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20));
    b =
        json == null
            ? b.method(method, HttpRequest.BodyPublishers.noBody())
            : b.header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofString(json));
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(method + " " + uri + ": " + r.body()).isBetween(200, 299);
    return r.body();
  }
}
