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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Durable acknowledgements: the packaged order-service, as a real process, is killed with SIGKILL
 * (kill -9) the instant it has sent its Nth 201 of a round, while two clients keep ordering. After
 * every round it is started again on the same H2 file; at the end every order it acknowledged must
 * be there with the status it was acknowledged with.
 */
class OrderCrashIT {

  private static final int ROUNDS = 3;
  private static final int CLIENTS = 2;
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
    Stubs.noCharge(wm);
  }

  @AfterAll
  static void stopDownstream() {
    wm.stop();
  }

  @Test
  void everyAcknowledgedOrderSurvivesKillNine() throws Exception {
    Path dir = Files.createDirectories(Path.of("target", "crash-it"));
    Path db = Files.createTempDirectory(dir, "db").resolve("orders").toAbsolutePath();
    Map<String, String> acked = new ConcurrentHashMap<>();
    int attempts = 0;

    for (int round = 0; round < ROUNDS; round++) {
      PackagedApp app = PackagedApp.start(db, wm.port());
      int killAt = ThreadLocalRandom.current().nextInt(5, 40);
      AtomicInteger roundAcks = new AtomicInteger();
      AtomicBoolean killed = new AtomicBoolean();
      AtomicInteger sent = new AtomicInteger();
      ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
      try {
        List<Future<?>> fs = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
          fs.add(
              clients.submit(
                  () -> {
                    while (!killed.get() && sent.incrementAndGet() <= 200) {
                      HttpResponse<String> r;
                      try {
                        r = placeOrder(app.url());
                      } catch (Exception e) {
                        continue; // cut off by the kill: not acknowledged
                      }
                      if (r.statusCode() == 201) {
                        JsonNode o = JSON.readTree(r.body());
                        acked.put(o.get("id").asText(), o.get("status").asText());
                        // kill -9 the instant the Nth acknowledgement has arrived
                        if (roundAcks.incrementAndGet() == killAt
                            && killed.compareAndSet(false, true)) {
                          app.kill();
                        }
                      }
                    }
                    return null;
                  }));
        }
        for (Future<?> f : fs) {
          f.get(5, TimeUnit.MINUTES);
        }
      } finally {
        clients.shutdownNow();
        app.kill();
      }
      attempts += sent.get();
      System.out.printf(
          "round %d: killed pid %d after ack %d (%d acknowledged so far)%n",
          round, app.pid(), killAt, acked.size());
      assertThat(killed).as("round %d reached its kill point", round).isTrue();
    }

    PackagedApp last = PackagedApp.start(db, wm.port());
    int lost = 0;
    int changed = 0;
    try {
      for (Map.Entry<String, String> e : acked.entrySet()) {
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(URI.create(last.url() + "/api/orders/" + e.getKey()))
                    .timeout(Duration.ofSeconds(20))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
          lost++;
        } else if (!JSON.readTree(r.body()).get("status").asText().equals(e.getValue())) {
          changed++;
        }
      }
    } finally {
      last.stop();
    }
    System.out.printf(
        "kill -9 x %d: %d orders sent, %d acknowledged, %d lost, %d with another status%n",
        ROUNDS, attempts, acked.size(), lost, changed);
    assertThat(acked).hasSizeGreaterThanOrEqualTo(ROUNDS * 5);
    assertThat(lost).as("acknowledged orders missing after kill -9").isZero();
    assertThat(changed).as("acknowledged orders with another status").isZero();
  }

  private HttpResponse<String> placeOrder(String url) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url + "/api/orders"))
            .header("Content-Type", "application/json")
            .timeout(Duration.ofSeconds(20))
            .POST(
                HttpRequest.BodyPublishers.ofString(
                    "{\"productId\": 3, \"quantity\": 1, \"customer\": \"crash\"}"))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
