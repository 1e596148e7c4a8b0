package io.shopmesh.order;

import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tomakehurst.wiremock.WireMockServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Starts the packaged order-service (target/quarkus-app) as a real process, places an order, stops
 * the process, starts a new one on the same H2 file and finds the order again.
 */
class OrderRestartIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static WireMockServer wm;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void downstream() {
    wm = new WireMockServer(options().dynamicPort().bindAddress("127.0.0.1"));
    wm.start();
    Stubs.product(wm, 3, "49.50", null);
    Stubs.chargeOk(wm);
  }

  @AfterAll
  static void stopDownstream() {
    wm.stop();
  }

  @Test
  void ordersSurviveARestart() throws Exception {
    Path dir = Files.createDirectories(Path.of("target", "restart-it"));
    Path db = Files.createTempDirectory(dir, "db").resolve("orders").toAbsolutePath();

    String id;
    PackagedApp first = PackagedApp.start(db, wm.port());
    try {
      HttpResponse<String> created =
          http.send(
              HttpRequest.newBuilder(URI.create(first.url() + "/api/orders"))
                  .header("Content-Type", "application/json")
                  .timeout(Duration.ofSeconds(20))
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "{\"productId\": 3, \"quantity\": 2, \"customer\": \"alice\"}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
      id = JSON.readTree(created.body()).get("id").asText();
    } finally {
      first.stop();
    }

    PackagedApp second = PackagedApp.start(db, wm.port());
    try {
      HttpResponse<String> found =
          http.send(
              HttpRequest.newBuilder(URI.create(second.url() + "/api/orders/" + id))
                  .timeout(Duration.ofSeconds(20))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(found.statusCode()).as(found.body()).isEqualTo(200);
      JsonNode order = JSON.readTree(found.body());
      assertThat(order.get("status").asText()).isEqualTo("PAID");
      assertThat(order.get("total").decimalValue()).isEqualByComparingTo("99.00");
      assertThat(second.pid()).isNotEqualTo(first.pid());
    } finally {
      second.stop();
    }
  }
}
