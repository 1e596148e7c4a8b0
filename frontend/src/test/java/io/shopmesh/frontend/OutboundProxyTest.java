package io.shopmesh.frontend;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.is;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.shopmesh.testing.InjectWireMock;
import org.junit.jupiter.api.Test;

/**
 * With quarkus.rest-client.proxy-address set, every client sends its calls, still addressed to the
 * mesh names (product-service:8080, order-service:8080), to the proxy: the local sidecar.
 */
@QuarkusTest
@WithTestResource(SidecarWireMock.class)
class OutboundProxyTest {

  @InjectWireMock WireMockServer sidecar;

  @Test
  void allClientsGoThroughTheProxyWithTheirMeshHost() {
    sidecar.stubFor(
        get(urlEqualTo("/api/products"))
            .willReturn(
                aResponse()
                    .withStatus(200)
                    .withHeader("Content-Type", "application/json")
                    .withBody("{\"version\":\"v1\",\"pod\":\"p\",\"products\":[]}")));
    sidecar.stubFor(
        post(urlEqualTo("/api/orders"))
            .willReturn(
                aResponse()
                    .withStatus(201)
                    .withHeader("Content-Type", "application/json")
                    .withBody("{\"id\":\"o-2\"}")));

    given().get("/products").then().statusCode(200).body("version", is("v1"));
    given().contentType(ContentType.JSON).body("{}").post("/orders").then().statusCode(201);

    sidecar.verify(
        getRequestedFor(urlEqualTo("/api/products"))
            .withHeader("Host", equalTo("product-service:8080")));
    sidecar.verify(
        postRequestedFor(urlEqualTo("/api/orders"))
            .withHeader("Host", equalTo("order-service:8080")));
  }
}
