package io.shopmesh.frontend;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.shopmesh.testing.DownstreamWireMock;
import io.shopmesh.testing.InjectWireMock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@QuarkusTest
@WithTestResource(
    value = DownstreamWireMock.class,
    initArgs =
        @ResourceArg(
            name = DownstreamWireMock.REST_CLIENTS,
            value = "product-service,order-service"))
class FrontendTest {

  static final String PRODUCTS =
      "{\"version\":\"v2\",\"pod\":\"product-service-v2-abc\",\"count\":1,"
          + "\"products\":[{\"id\":1,\"name\":\"Tent\",\"price\":299.0}]}";

  @InjectWireMock WireMockServer wm;

  @BeforeEach
  void reset() {
    wm.resetAll();
    wm.stubFor(
        get(urlEqualTo("/api/products"))
            .willReturn(
                aResponse()
                    .withStatus(200)
                    .withHeader("Content-Type", "application/json")
                    .withHeader("x-product-version", "v2")
                    .withBody(PRODUCTS)));
  }

  @Test
  void productsArePassedThrough() {
    given()
        .get("/products")
        .then()
        .statusCode(200)
        .header("x-product-version", "v2")
        .body("version", is("v2"))
        .body("pod", is("product-service-v2-abc"))
        .body("products[0].name", is("Tent"));
    wm.verify(getRequestedFor(urlEqualTo("/api/products")).withHeader("user-type", absent()));
  }

  @Test
  void premiumUserByHeaderSendsUserTypePremium() {
    given()
        .header("x-user", "alice")
        .get("/products")
        .then()
        .statusCode(200)
        .header("x-user-type", "premium");
    wm.verify(
        1,
        getRequestedFor(urlEqualTo("/api/products")).withHeader("user-type", equalTo("premium")));
  }

  @Test
  void premiumUserByCookieSendsUserTypePremium() {
    given().cookie("user", "alice").get("/products").then().statusCode(200);
    wm.verify(
        1,
        getRequestedFor(urlEqualTo("/api/products")).withHeader("user-type", equalTo("premium")));
  }

  @Test
  void premiumSwitchCookieSendsUserTypePremium() {
    given().cookie("premium", "true").get("/products").then().statusCode(200);
    wm.verify(
        1,
        getRequestedFor(urlEqualTo("/api/products")).withHeader("user-type", equalTo("premium")));
  }

  @Test
  void regularUserSendsNoUserType() {
    given()
        .header("x-user", "bob")
        .cookie("premium", "false")
        .get("/products")
        .then()
        .statusCode(200)
        .header("x-user-type", "regular");
    wm.verify(1, getRequestedFor(urlEqualTo("/api/products")).withHeader("user-type", absent()));
  }

  @Test
  void propagatesTracingHeaders() {
    given()
        .header("x-request-id", "req-1")
        .header("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        .header("tracestate", "congo=t61rcWkgMzE")
        .header("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7")
        .header("x-b3-spanid", "e457b5a2e4d86bd1")
        .header("x-b3-parentspanid", "05e3ac9a4f6e3b90")
        .header("x-b3-sampled", "1")
        .header("x-b3-flags", "0")
        .header("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1")
        .get("/products")
        .then()
        .statusCode(200);
    wm.verify(
        getRequestedFor(urlEqualTo("/api/products"))
            .withHeader("x-request-id", equalTo("req-1"))
            .withHeader(
                "traceparent", equalTo("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
            .withHeader("tracestate", equalTo("congo=t61rcWkgMzE"))
            .withHeader("x-b3-traceid", equalTo("80f198ee56343ba864fe8b2a57d3eff7"))
            .withHeader("x-b3-spanid", equalTo("e457b5a2e4d86bd1"))
            .withHeader("x-b3-parentspanid", equalTo("05e3ac9a4f6e3b90"))
            .withHeader("x-b3-sampled", equalTo("1"))
            .withHeader("x-b3-flags", equalTo("0"))
            .withHeader("b3", equalTo("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1")));
  }

  @Test
  void fallbackWhenProductsAreDownAndNoRetry() {
    wm.stubFor(
        get(urlEqualTo("/api/products"))
            .willReturn(aResponse().withStatus(503).withBody("no healthy upstream")));
    given()
        .get("/products")
        .then()
        .statusCode(200)
        .header("x-fallback", "true")
        .body("fallback", is(true))
        .body("products.size()", is(0));
    // the mesh retries; the frontend must not multiply that
    wm.verify(1, getRequestedFor(urlEqualTo("/api/products")));
  }

  @Test
  void ordersArePassedThroughWithLocation() {
    wm.stubFor(
        post(urlEqualTo("/api/orders"))
            .willReturn(
                aResponse()
                    .withStatus(201)
                    .withHeader("Content-Type", "application/json")
                    .withHeader("Location", "http://order-service:8080/api/orders/o-1")
                    .withBody("{\"id\":\"o-1\",\"status\":\"PAID\"}")));
    given()
        .contentType(ContentType.JSON)
        .header("x-request-id", "req-9")
        .body("{\"productId\":1,\"quantity\":1,\"customer\":\"alice\"}")
        .post("/orders")
        .then()
        .statusCode(201)
        .header("Location", containsString("/orders/o-1"))
        .body("status", is("PAID"));
    wm.verify(
        postRequestedFor(urlEqualTo("/api/orders"))
            .withHeader("x-request-id", equalTo("req-9"))
            .withRequestBody(equalTo("{\"productId\":1,\"quantity\":1,\"customer\":\"alice\"}")));
  }

  @Test
  void orderValidationErrorsArePassedThrough() {
    wm.stubFor(
        post(urlEqualTo("/api/orders"))
            .willReturn(
                aResponse()
                    .withStatus(400)
                    .withHeader("Content-Type", "application/problem+json")
                    .withBody(
                        "{\"status\":400,\"title\":\"Invalid order\",\"errors\":[{\"field\":\"quantity\"}]}")));
    given()
        .contentType(ContentType.JSON)
        .body("{\"productId\":1}")
        .post("/orders")
        .then()
        .statusCode(400)
        .contentType("application/problem+json")
        .body("errors[0].field", is("quantity"));
  }

  @Test
  void shopPageIsRenderedOnTheServerWithTheProductsAndTheBadge() {
    given()
        .get("/")
        .then()
        .statusCode(200)
        .contentType(containsString("text/html"))
        .body(containsString("Premium"))
        .body(containsString("class=\"badge v2\">v2 · product-service-v2-abc</span>"))
        .body(containsString("<h3>Tent</h3>"))
        .body(containsString("299.00 EUR"))
        .body(containsString("data-id=\"1\""));
    wm.verify(getRequestedFor(urlEqualTo("/api/products")).withHeader("user-type", absent()));
  }

  @Test
  void shopPageForAPremiumUserAsksForPremiumProductsAndEscapesWhatItShows() {
    wm.stubFor(
        get(urlEqualTo("/api/products"))
            .willReturn(
                aResponse()
                    .withStatus(200)
                    .withHeader("Content-Type", "application/json")
                    .withBody(
                        "{\"version\":\"v2\",\"pod\":\"p\",\"products\":[{\"id\":2,"
                            + "\"name\":\"<b>Stove</b>\",\"price\":50,\"currency\":\"EUR\","
                            + "\"discountPrice\":45,\"discountPercent\":10,"
                            + "\"rating\":{\"stars\":4.4,\"reviews\":12}}]}")));
    given()
        .cookie("premium", "true")
        .get("/")
        .then()
        .statusCode(200)
        .body(containsString("&lt;b&gt;Stove&lt;/b&gt;"))
        .body(containsString("<span class=\"old\">50.00 EUR</span>45.00 EUR"))
        .body(containsString("-10%"))
        .body(containsString("★★★★ 4.4 (12)"))
        .body(containsString("type=\"checkbox\" checked"));
    wm.verify(
        getRequestedFor(urlEqualTo("/api/products")).withHeader("user-type", equalTo("premium")));
  }

  @Test
  void shopPageShowsTheFallbackWhenProductsAreDown() {
    wm.stubFor(get(urlEqualTo("/api/products")).willReturn(aResponse().withStatus(503)));
    given()
        .get("/")
        .then()
        .statusCode(200)
        .body(containsString("products unavailable"))
        .body(containsString("Products are unavailable right now"));
  }

  @Test
  void whoami() {
    given()
        .cookie("user", "alice")
        .get("/whoami")
        .then()
        .statusCode(200)
        .body("user", is("alice"))
        .body("premium", is(true));
  }

  @Test
  void healthMetricsOpenApi() {
    given().get("/q/health/live").then().statusCode(200);
    given().get("/q/health/ready").then().statusCode(200);
    given().get("/q/metrics").then().statusCode(200);
    given().get("/q/openapi").then().statusCode(200);
  }
}
