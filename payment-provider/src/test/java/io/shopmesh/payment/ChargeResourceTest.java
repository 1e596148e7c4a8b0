package io.shopmesh.payment;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@QuarkusTest
@QuarkusTestResource(CertsResource.class)
class ChargeResourceTest {

  private static final String BODY =
      "{\"amount\": 49.50, \"currency\": \"EUR\", \"description\": \"order 1\","
          + " \"metadata\": {\"orderId\": \"1\"}}";

  @BeforeEach
  void reset() {
    given().delete("/admin/faults").then().statusCode(200);
    given().post("/admin/reset").then().statusCode(200);
  }

  private static io.restassured.response.Response charge(String key) {
    var req = given().contentType(ContentType.JSON).body(BODY);
    if (key != null) {
      req.header("Idempotency-Key", key);
    }
    return req.post("/v1/charges");
  }

  private static int count() {
    return given().get("/v1/charges/count").then().statusCode(200).extract().path("count");
  }

  @Test
  void sameIdempotencyKeyTwiceChargesOnce() {
    var first = charge("order-abc");
    first
        .then()
        .statusCode(201)
        .header("Idempotent-Replayed", "false")
        .header("Location", startsWith("http"))
        .body("id", startsWith("ch_"))
        .body("status", equalTo("succeeded"))
        .body("amount", equalTo(49.50f))
        .body("idempotencyKey", equalTo("order-abc"));
    String id = first.path("id");

    charge("order-abc")
        .then()
        .statusCode(201)
        .header("Idempotent-Replayed", "true")
        .body("id", equalTo(id));

    assertThat(count()).isEqualTo(1);
    given().get("/admin/stats").then().body("replays", equalTo(1)).body("requests", equalTo(2));
    given().get("/v1/charges/" + id).then().statusCode(200).body("id", equalTo(id));
  }

  @Test
  void concurrentRequestsWithOneKeyChargeOnce() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Callable<String>> calls = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        calls.add(() -> charge("order-concurrent").then().statusCode(201).extract().path("id"));
      }
      Set<String> ids = new HashSet<>();
      for (Future<String> f : pool.invokeAll(calls, 30, TimeUnit.SECONDS)) {
        ids.add(f.get());
      }
      assertThat(ids).hasSize(1);
      assertThat(count()).isEqualTo(1);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void withoutKeyEveryRequestCharges() {
    charge(null).then().statusCode(201);
    charge(null).then().statusCode(201);
    assertThat(count()).isEqualTo(2);
  }

  @Test
  void sameKeyDifferentAmountIs422() {
    charge("order-x").then().statusCode(201);
    given()
        .contentType(ContentType.JSON)
        .header("Idempotency-Key", "order-x")
        .body("{\"amount\": 1.00, \"currency\": \"EUR\"}")
        .post("/v1/charges")
        .then()
        .statusCode(422)
        .contentType("application/problem+json");
    assertThat(count()).isEqualTo(1);
  }

  @Test
  void invalidAmountIs400() {
    given()
        .contentType(ContentType.JSON)
        .body("{\"amount\": -3}")
        .post("/v1/charges")
        .then()
        .statusCode(400)
        .contentType("application/problem+json");
  }

  @Test
  void unknownChargeIs404() {
    given()
        .get("/v1/charges/ch_nope")
        .then()
        .statusCode(404)
        .contentType("application/problem+json");
  }

  @Test
  void faultBeforeChargingThenRetrySucceedsOnce() {
    given()
        .contentType(ContentType.JSON)
        .body("{\"errorRate\": 1.0, \"statusCode\": 503}")
        .post("/admin/faults")
        .then()
        .statusCode(200)
        .body("errorRate", equalTo(1.0f));
    charge("order-retry").then().statusCode(503).header("x-injected-fault", "before");
    assertThat(count()).isZero();

    given().delete("/admin/faults").then().statusCode(200);
    String id =
        charge("order-retry")
            .then()
            .statusCode(201)
            .header("Idempotent-Replayed", "false")
            .extract()
            .path("id");
    charge("order-retry").then().statusCode(201).body("id", equalTo(id));
    assertThat(count()).isEqualTo(1);
  }

  @Test
  void faultAfterChargingThenRetryReplaysTheCharge() {
    given()
        .contentType(ContentType.JSON)
        .body("{\"failNext\": 1, \"statusCode\": 500, \"phase\": \"after\"}")
        .post("/admin/faults")
        .then()
        .statusCode(200);
    charge("order-lost").then().statusCode(500).header("x-injected-fault", "after");
    assertThat(count()).isEqualTo(1);

    // failNext was used up: the retry goes through and gets the first charge back
    charge("order-lost").then().statusCode(201).header("Idempotent-Replayed", "true");
    assertThat(count()).isEqualTo(1);
    given().get("/admin/stats").then().body("injectedFaults", equalTo(1));
  }

  @Test
  void lookupByKeyFindsTheChargeWhoseAnswerWasLost() {
    given()
        .get("/v1/charges?idempotencyKey=order-lost")
        .then()
        .statusCode(200)
        .body("object", equalTo("list"))
        .body("data.size()", equalTo(0));
    given()
        .contentType(ContentType.JSON)
        .body("{\"failNext\": 1, \"phase\": \"after\"}")
        .post("/admin/faults")
        .then()
        .statusCode(200);
    charge("order-lost").then().statusCode(503).header("x-injected-fault", "after");
    charge("order-other").then().statusCode(201);

    given()
        .get("/v1/charges?idempotencyKey=order-lost")
        .then()
        .statusCode(200)
        .body("data.size()", equalTo(1))
        .body("data[0].idempotencyKey", equalTo("order-lost"))
        .body("data[0].id", startsWith("ch_"));
    // the look-up charges nothing and is not a replay
    assertThat(count()).isEqualTo(2);
    given().get("/admin/stats").then().body("replays", equalTo(0));
    given().get("/v1/charges").then().statusCode(200).body("data.size()", equalTo(2));
  }

  @Test
  void latencyIsAdded() {
    given()
        .contentType(ContentType.JSON)
        .body("{\"latencyMs\": 300}")
        .post("/admin/faults")
        .then()
        .statusCode(200);
    long start = System.nanoTime();
    charge("order-slow").then().statusCode(201);
    assertThat((System.nanoTime() - start) / 1_000_000).isGreaterThanOrEqualTo(290);
  }

  @Test
  void invalidFaultsAre400() {
    given()
        .contentType(ContentType.JSON)
        .body("{\"errorRate\": 2}")
        .post("/admin/faults")
        .then()
        .statusCode(400);
  }

  @Test
  void healthMetricsOpenApi() {
    given().get("/q/health/ready").then().statusCode(200);
    given().get("/q/metrics").then().statusCode(200);
    given().get("/q/openapi").then().statusCode(200);
  }
}
