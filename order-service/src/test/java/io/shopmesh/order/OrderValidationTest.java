package io.shopmesh.order;

import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;
import io.shopmesh.testing.DownstreamWireMock;
import io.shopmesh.testing.InjectWireMock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every invalid field gets a 400 problem+json that names it; nothing is called downstream. */
@QuarkusTest
@QuarkusTestResource(
    value = DownstreamWireMock.class,
    initArgs =
        @ResourceArg(name = DownstreamWireMock.REST_CLIENTS, value = "product-service,payment-api"))
class OrderValidationTest {

  @InjectWireMock WireMockServer wm;

  private static ValidatableResponse post(String json) {
    return given()
        .contentType(ContentType.JSON)
        .body(json)
        .post("/api/orders")
        .then()
        .statusCode(400)
        .contentType("application/problem+json")
        .body("status", is(400));
  }

  @BeforeEach
  void reset() {
    wm.resetAll();
  }

  @AfterEach
  void nothingCalledDownstream() {
    wm.verify(0, anyRequestedFor(anyUrl()));
  }

  @Test
  void missingProductId() {
    post("{\"quantity\": 1, \"customer\": \"alice\"}")
        .body("errors.field", contains("productId"))
        .body("detail", containsString("productId"));
  }

  @Test
  void productIdNotAPositiveInteger() {
    post("{\"productId\": \"abc\", \"quantity\": 1, \"customer\": \"alice\"}")
        .body("errors.field", contains("productId"));
    post("{\"productId\": 0, \"quantity\": 1, \"customer\": \"alice\"}")
        .body("errors.field", contains("productId"));
  }

  @Test
  void missingQuantity() {
    post("{\"productId\": 1, \"customer\": \"alice\"}")
        .body("errors.field", contains("quantity"))
        .body("detail", containsString("quantity"));
  }

  @Test
  void quantityOutOfRange() {
    post("{\"productId\": 1, \"quantity\": 0, \"customer\": \"alice\"}")
        .body("errors.field", contains("quantity"));
    post("{\"productId\": 1, \"quantity\": 101, \"customer\": \"alice\"}")
        .body("errors.field", contains("quantity"));
    post("{\"productId\": 1, \"quantity\": 1.5, \"customer\": \"alice\"}")
        .body("errors.field", contains("quantity"));
  }

  @Test
  void missingCustomer() {
    post("{\"productId\": 1, \"quantity\": 1}")
        .body("errors.field", contains("customer"))
        .body("detail", containsString("customer"));
  }

  @Test
  void blankCustomer() {
    post("{\"productId\": 1, \"quantity\": 1, \"customer\": \"  \"}")
        .body("errors.field", contains("customer"));
  }

  @Test
  void everyBadFieldIsNamedAtOnce() {
    post("{\"productId\": -1, \"quantity\": \"two\", \"customer\": 5}")
        .body("errors.field", contains("productId", "quantity", "customer"));
  }

  @Test
  void malformedJson() {
    post("{\"productId\": ");
  }
}
