package io.shopmesh.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Orders and payments under faults, counted end to end through the gateway: the provider failing
 * after it has charged, and the order service killed (SIGKILL) ten times while two clients order.
 * Each test tags its orders with its own customer name and counts only those, with the provider's
 * charges for them.
 */
@ExtendWith(MeshExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OrderDurabilityTest {

  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP =
      HttpClient.newBuilder()
          .connectTimeout(Duration.ofSeconds(3))
          .version(HttpClient.Version.HTTP_1_1)
          .build();

  /** order.reconcile.settle (60 s) plus a reconciler period and a restart. */
  static final Duration RECONCILED_WITHIN = Duration.ofSeconds(150);

  static MeshTarget mesh;
  static ShopClient shop;

  @BeforeAll
  static void setUp(MeshTarget target) {
    // the local mesh: meshctl's supervisor restarts the killed app on the same database file
    assumeTrue(target instanceof LocalMeshTarget, "needs the local target");
    mesh = target;
    shop = new ShopClient(target.gateway());
  }

  @Test
  @Order(1)
  @Timeout(300)
  void providerFailingAfterChargingLeavesNoChargedOrderFailed() throws Exception {
    String tag = "after-" + Long.toHexString(System.nanoTime());
    Map<String, Integer> answered = new TreeMap<>();
    provider("DELETE", "/admin/faults", null);
    provider("POST", "/admin/faults", "{\"errorRate\":0.5,\"statusCode\":503,\"phase\":\"after\"}");
    try {
      for (int i = 0; i < 40; i++) {
        ShopClient.Response r = placeOrder(tag);
        String key = r.status() == 201 ? JSON.readTree(r.body()).path("status").asText() : "";
        answered.merge(r.status() + (key.isEmpty() ? "" : " " + key), 1, Integer::sum);
      }
    } finally {
      provider("DELETE", "/admin/faults", null);
    }
    Count c = count(tag);
    System.out.printf(
        "provider failing 50%% after charging, 40 orders: answers %s; %s%n", answered, c);
    assertThat(c.orders).isEqualTo(40);
    assertThat(c.failedWithCharge).as("PAYMENT_FAILED orders that were charged").isZero();
    assertThat(c.charges).as("charges = PAID orders").isEqualTo(c.paid);
    assertThat(c.chargedNotPaid + c.paidWithoutCharge).isZero();
  }

  @Test
  @Order(2)
  @Timeout(900)
  void tenCrashesOfTheOrderServiceUnderLoadLoseNoAcknowledgedOrder() throws Exception {
    String tag = "crash-" + Long.toHexString(System.nanoTime());
    String pod =
        mesh.pods().stream()
            .filter(p -> p.workload().equals("order-service"))
            .findFirst()
            .orElseThrow()
            .name();
    Map<String, String> acked = new ConcurrentHashMap<>();
    Map<String, Integer> answers = new ConcurrentHashMap<>();
    AtomicInteger acksSinceKill = new AtomicInteger();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong sent = new AtomicLong();
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(12);

    ExecutorService clients = Executors.newFixedThreadPool(2);
    List<Future<?>> fs = new ArrayList<>();
    for (int c = 0; c < 2; c++) {
      fs.add(
          clients.submit(
              () -> {
                while (!stop.get() && acked.size() < 800 && System.nanoTime() < deadline) {
                  sent.incrementAndGet();
                  ShopClient.Response r;
                  try {
                    r = placeOrder(tag);
                  } catch (RuntimeException e) {
                    answers.merge("io-error", 1, Integer::sum);
                    pause(500);
                    continue;
                  }
                  if (r.status() == 201) {
                    JsonNode o = JSON.readTree(r.body());
                    acked.put(o.get("id").asText(), o.get("status").asText());
                    answers.merge("201 " + o.get("status").asText(), 1, Integer::sum);
                    acksSinceKill.incrementAndGet();
                    pause(50);
                  } else {
                    answers.merge(Integer.toString(r.status()), 1, Integer::sum);
                    pause(500); // the service is down: do not spin
                  }
                }
                return null;
              }));
    }
    int kills = 0;
    try {
      for (; kills < 10; kills++) {
        // the restarted service has answered (three acknowledgements since the last kill)
        awaitAcks(acksSinceKill, 3, deadline);
        Thread.sleep(ThreadLocalRandom.current().nextLong(200, 1500));
        mesh.kill(pod, null);
        acksSinceKill.set(0);
        System.out.printf(
            "kill -9 #%d of %s: %d orders acknowledged so far%n", kills + 1, pod, acked.size());
      }
      awaitAcks(acksSinceKill, 20, deadline);
    } finally {
      stop.set(true);
      for (Future<?> f : fs) {
        f.get(2, TimeUnit.MINUTES);
      }
      clients.shutdownNow();
    }

    // the reconciler settles what the crashes left pending
    long until = System.nanoTime() + RECONCILED_WITHIN.toNanos();
    Count c = count(tag);
    while (c.pending > 0 && System.nanoTime() < until) {
      Thread.sleep(5_000);
      c = count(tag);
    }
    int lost = 0;
    int downgraded = 0;
    for (Map.Entry<String, String> e : acked.entrySet()) {
      String now = c.statusById.get(e.getKey());
      if (now == null) {
        lost++;
      } else if (e.getValue().equals("PAID") && !now.equals("PAID")) {
        downgraded++;
      }
    }
    System.out.printf(
        "order-service killed %d times under load: %d orders sent, answers %s; %d acknowledged,"
            + " %d lost, %d acknowledged PAID and now not; %s%n",
        kills, sent.get(), new TreeMap<>(answers), acked.size(), lost, downgraded, c);
    assertThat(kills).isEqualTo(10);
    assertThat(acked).hasSizeGreaterThan(50);
    assertThat(lost).as("acknowledged orders lost").isZero();
    assertThat(downgraded).as("acknowledged PAID orders no longer PAID").isZero();
    assertThat(c.pending).as("orders still PAYMENT_PENDING").isZero();
    assertThat(c.charges).as("provider charges = PAID orders").isEqualTo(c.paid);
    assertThat(c.chargedNotPaid + c.paidWithoutCharge + c.failedWithCharge).isZero();
  }

  static void awaitAcks(AtomicInteger acks, int n, long deadline) throws InterruptedException {
    while (acks.get() < n) {
      assertThat(System.nanoTime())
          .as("order-service back within the deadline")
          .isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static ShopClient.Response placeOrder(String customer) {
    int product = ThreadLocalRandom.current().nextInt(1, 6);
    return shop.send(
        ShopClient.HOST,
        "POST",
        "/orders",
        "{\"productId\":" + product + ",\"quantity\":1,\"customer\":\"" + customer + "\"}");
  }

  /** The orders of one tag as the shop lists them, against the provider's charges for them. */
  static final class Count {
    final Map<String, String> statusById = new HashMap<>();
    int orders;
    int paid;
    int failed;
    int pending;
    int charges;
    int failedWithCharge;
    int chargedNotPaid;
    int paidWithoutCharge;

    @Override
    public String toString() {
      return String.format(
          "orders %d (PAID %d, PAYMENT_FAILED %d, PAYMENT_PENDING %d), provider charges %d,"
              + " charged but PAYMENT_FAILED %d, charged but not PAID %d, PAID without charge %d",
          orders,
          paid,
          failed,
          pending,
          charges,
          failedWithCharge,
          chargedNotPaid,
          paidWithoutCharge);
    }
  }

  static Count count(String tag) throws Exception {
    ShopClient.Response list = shop.get("/orders");
    assertThat(list.status()).as(list.body()).isEqualTo(200);
    Map<String, String> chargeByKey = new HashMap<>();
    for (JsonNode ch : JSON.readTree(provider("GET", "/admin/charges", null))) {
      if (ch.path("description").asText().endsWith(" for " + tag)) {
        chargeByKey.put(ch.path("idempotencyKey").asText(), ch.path("id").asText());
      }
    }
    Count c = new Count();
    c.charges = chargeByKey.size();
    Map<String, String> keyOfPaid = new HashMap<>();
    for (JsonNode o : JSON.readTree(list.body())) {
      if (!o.path("customer").asText().equals(tag)) {
        continue;
      }
      String status = o.path("status").asText();
      String key = o.path("idempotencyKey").asText();
      c.orders++;
      c.statusById.put(o.path("id").asText(), status);
      switch (status) {
        case "PAID" -> {
          c.paid++;
          keyOfPaid.put(key, o.path("chargeId").asText());
          if (!o.path("chargeId").asText().equals(chargeByKey.get(key))) {
            c.paidWithoutCharge++;
          }
        }
        case "PAYMENT_FAILED" -> {
          c.failed++;
          c.failedWithCharge += chargeByKey.containsKey(key) ? 1 : 0;
        }
        default -> c.pending++;
      }
    }
    for (String key : chargeByKey.keySet()) {
      c.chargedNotPaid += keyOfPaid.containsKey(key) ? 0 : 1;
    }
    return c;
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
