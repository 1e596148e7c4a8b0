package io.shopmesh.order;

import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.shopmesh.testing.DownstreamWireMock;
import io.shopmesh.testing.InjectWireMock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@QuarkusTest
@QuarkusTestResource(
    value = DownstreamWireMock.class,
    initArgs =
        @ResourceArg(name = DownstreamWireMock.REST_CLIENTS, value = "product-service,payment-api"))
class OrderResourceTest {

  @InjectWireMock WireMockServer wm;

  @BeforeEach
  void reset() {
    wm.resetAll();
  }

  private static io.restassured.response.Response order(String json) {
    return given().contentType(ContentType.JSON).body(json).post("/api/orders");
  }

  @Test
  void placesAPaidOrderWithIdempotencyKeyFromTheOrderId() {
    Stubs.product(wm, 3, "49.50", null);
    Stubs.chargeOk(wm);
    var res = order("{\"productId\": 3, \"quantity\": 2, \"customer\": \"alice\"}");
    res.then()
        .statusCode(201)
        .header("Location", endsWith("/api/orders/" + res.path("id")))
        .body("status", is("PAID"))
        .body("total", is(99.00f))
        .body("unitPrice", is(49.50f))
        .body("chargeId", is("ch_test1"))
        .body("productVersion", is("v1"));
    String id = res.path("id");
    wm.verify(
        1,
        postRequestedFor(urlEqualTo("/v1/charges"))
            .withHeader("Idempotency-Key", equalTo("order-" + id))
            .withRequestBody(matchingJsonPath("$.amount", equalTo("99.0")))
            .withRequestBody(matchingJsonPath("$.metadata.orderId", equalTo(id))));

    given()
        .get("/api/orders/" + id)
        .then()
        .statusCode(200)
        .body("id", is(id))
        .body("status", is("PAID"))
        .body("customer", is("alice"));
    given().get("/api/orders").then().statusCode(200).body("id", hasItem(id));
  }

  @Test
  void usesTheV2DiscountPrice() {
    Stubs.product(wm, 1, "89.90", "76.42");
    Stubs.chargeOk(wm);
    order("{\"productId\": 1, \"quantity\": 1, \"customer\": \"bob\"}")
        .then()
        .statusCode(201)
        .body("unitPrice", is(76.42f))
        .body("productVersion", is("v2"));
  }

  @Test
  void paymentFailureIsRecordedWithoutAnAppLevelRetry() {
    Stubs.product(wm, 3, "49.50", null);
    Stubs.chargeFails(wm, 503);
    Stubs.noCharge(wm);
    var res = order("{\"productId\": 3, \"quantity\": 1, \"customer\": \"carol\"}");
    res.then()
        .statusCode(201)
        .body("status", is("PAYMENT_FAILED"))
        .body("failureReason", startsWith("payment provider answered 503"));
    // the mesh retries; the app must not add its own retries on top
    wm.verify(1, postRequestedFor(urlEqualTo("/v1/charges")));

    // a later retry reuses the same key, so the provider can never charge twice
    String id = res.path("id");
    wm.resetAll();
    Stubs.chargeOk(wm);
    given()
        .post("/api/orders/" + id + "/payment")
        .then()
        .statusCode(200)
        .body("status", is("PAID"));
    wm.verify(
        1,
        postRequestedFor(urlEqualTo("/v1/charges"))
            .withHeader("Idempotency-Key", equalTo("order-" + id)));
  }

  @Test
  void unknownProductIs400NamingProductId() {
    Stubs.unknownProduct(wm, 77);
    order("{\"productId\": 77, \"quantity\": 1, \"customer\": \"dave\"}")
        .then()
        .statusCode(400)
        .contentType("application/problem+json")
        .body("errors[0].field", is("productId"));
    wm.verify(0, postRequestedFor(urlEqualTo("/v1/charges")));
  }

  @Test
  void productServiceErrorIs502() {
    wm.stubFor(
        com.github.tomakehurst.wiremock.client.WireMock.get(urlEqualTo("/api/products/3"))
            .willReturn(
                com.github.tomakehurst.wiremock.client.WireMock.aResponse().withStatus(503)));
    order("{\"productId\": 3, \"quantity\": 1, \"customer\": \"erin\"}")
        .then()
        .statusCode(502)
        .contentType("application/problem+json");
  }

  @Test
  void propagatesTracingHeaders() {
    Stubs.product(wm, 3, "49.50", null);
    Stubs.chargeOk(wm);
    given()
        .contentType(ContentType.JSON)
        .header("x-request-id", "req-42")
        .header("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        .header("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7")
        .header("x-b3-sampled", "1")
        .body("{\"productId\": 3, \"quantity\": 1, \"customer\": \"frank\"}")
        .post("/api/orders")
        .then()
        .statusCode(201);
    wm.verify(
        getRequestedFor(urlEqualTo("/api/products/3"))
            .withHeader("x-request-id", equalTo("req-42"))
            .withHeader(
                "traceparent", equalTo("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
            .withHeader("x-b3-traceid", equalTo("80f198ee56343ba864fe8b2a57d3eff7")));
    wm.verify(
        postRequestedFor(urlEqualTo("/v1/charges"))
            .withHeader("x-request-id", equalTo("req-42"))
            .withHeader("x-b3-sampled", equalTo("1")));
  }

  @Test
  void unknownOrderIs404() {
    given().get("/api/orders/nope").then().statusCode(404).contentType("application/problem+json");
  }

  @Test
  void healthMetricsOpenApi() {
    given().get("/q/health/live").then().statusCode(200);
    given().get("/q/health/ready").then().statusCode(200);
    given().get("/q/metrics").then().statusCode(200);
    given().get("/q/openapi").then().statusCode(200);
  }
}
