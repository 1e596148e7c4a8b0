package io.shopmesh.order;

import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tomakehurst.wiremock.WireMockServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Starts the packaged order-service (target/quarkus-app) as a real process, places an order, stops
 * the process, starts a new one on the same H2 file and finds the order again.
 */
class OrderRestartIT {

  private static final Pattern LISTENING = Pattern.compile("Listening on: (http://[^\\s]+)");
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
    App first = App.start(db);
    try {
      HttpResponse<String> created =
          http.send(
              HttpRequest.newBuilder(URI.create(first.url + "/api/orders"))
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

    App second = App.start(db);
    try {
      HttpResponse<String> found =
          http.send(
              HttpRequest.newBuilder(URI.create(second.url + "/api/orders/" + id))
                  .timeout(Duration.ofSeconds(20))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(found.statusCode()).as(found.body()).isEqualTo(200);
      JsonNode order = JSON.readTree(found.body());
      assertThat(order.get("status").asText()).isEqualTo("PAID");
      assertThat(order.get("total").decimalValue()).isEqualByComparingTo("99.00");
      assertThat(second.pid).isNotEqualTo(first.pid);
    } finally {
      second.stop();
    }
  }

  /** One run of the packaged app. */
  private record App(Process process, String url, long pid) {

    static App start(Path db) throws IOException, InterruptedException {
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      ProcessBuilder pb =
          new ProcessBuilder(java, "-jar", "target/quarkus-app/quarkus-run.jar")
              .redirectErrorStream(true);
      var env = pb.environment();
      env.keySet().removeIf(k -> k.startsWith("QUARKUS_"));
      env.put("QUARKUS_HTTP_HOST", "127.0.0.1");
      env.put("QUARKUS_HTTP_PORT", "0");
      env.put("ORDER_DB_PATH", db.toString());
      env.put("PRODUCT_SERVICE_URL", "http://127.0.0.1:" + wm.port());
      env.put("PAYMENT_API_URL", "http://127.0.0.1:" + wm.port());
      Process p = pb.start();
      CompletableFuture<String> url = new CompletableFuture<>();
      Thread reader = new Thread(() -> pump(p, url), "order-service-log");
      reader.setDaemon(true);
      reader.start();
      try {
        return new App(p, url.get(60, TimeUnit.SECONDS), p.pid());
      } catch (Exception e) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        throw new IllegalStateException("order-service did not start", e);
      }
    }

    private static void pump(Process p, CompletableFuture<String> url) {
      try (BufferedReader r =
          new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          System.out.println("[order-service " + p.pid() + "] " + line);
          Matcher m = LISTENING.matcher(line);
          if (m.find()) {
            url.complete(m.group(1));
          }
        }
      } catch (IOException e) {
        // process ended
      }
      url.completeExceptionally(new IllegalStateException("exited before listening"));
    }

    void stop() throws InterruptedException {
      process.destroy(); // SIGTERM: Quarkus shuts down cleanly and closes the database
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
