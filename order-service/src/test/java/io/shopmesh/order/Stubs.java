package io.shopmesh.order;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.MappingBuilder;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;

/** Canned downstream answers shared by the tests. */
public final class Stubs {
  private Stubs() {}

  public static void product(WireMockServer wm, int id, String price, String discount) {
    String disc = discount == null ? "" : ",\"discountPrice\":" + discount;
    wm.stubFor(
        get(urlEqualTo("/api/products/" + id))
            .willReturn(
                aResponse()
                    .withStatus(200)
                    .withHeader("Content-Type", "application/json")
                    .withHeader("x-product-version", discount == null ? "v1" : "v2")
                    .withBody(
                        "{\"version\":\""
                            + (discount == null ? "v1" : "v2")
                            + "\",\"pod\":\"p-1\","
                            + "\"id\":"
                            + id
                            + ",\"name\":\"Merino T-Shirt\",\"price\":"
                            + price
                            + ",\"currency\":\"EUR\""
                            + disc
                            + "}")));
  }

  public static void unknownProduct(WireMockServer wm, int id) {
    wm.stubFor(
        get(urlEqualTo("/api/products/" + id))
            .willReturn(
                aResponse()
                    .withStatus(404)
                    .withHeader("Content-Type", "application/problem+json")
                    .withBody("{\"status\":404,\"title\":\"Product not found\"}")));
  }

  public static void chargeOk(WireMockServer wm) {
    wm.stubFor(
        post(urlEqualTo("/v1/charges"))
            .willReturn(
                aResponse()
                    .withStatus(201)
                    .withHeader("Content-Type", "application/json")
                    .withBody("{\"id\":\"ch_test1\",\"status\":\"succeeded\",\"amount\":99.00}")));
  }

  public static void chargeFails(WireMockServer wm, int status) {
    wm.stubFor(
        post(urlEqualTo("/v1/charges"))
            .willReturn(
                aResponse()
                    .withStatus(status)
                    .withHeader("Content-Type", "application/problem+json")
                    .withBody("{\"status\":" + status + ",\"title\":\"Injected fault\"}")));
  }

  /** The provider's look-up by key answers no charge (for any key). */
  public static void noCharge(WireMockServer wm) {
    wm.stubFor(lookup(null).willReturn(list("")));
  }

  /** The provider's look-up finds {@code chargeId} for {@code key} (any key when null). */
  public static void chargeFound(WireMockServer wm, String key, String chargeId) {
    wm.stubFor(
        lookup(key)
            .willReturn(
                list(
                    "{\"id\":\""
                        + chargeId
                        + "\",\"status\":\"succeeded\",\"idempotencyKey\":\""
                        + (key == null ? "k" : key)
                        + "\"}")));
  }

  public static void lookupFails(WireMockServer wm, int status) {
    wm.stubFor(lookup(null).willReturn(aResponse().withStatus(status)));
  }

  private static MappingBuilder lookup(String key) {
    MappingBuilder b = get(urlPathEqualTo("/v1/charges"));
    return key == null ? b : b.withQueryParam("idempotencyKey", equalTo(key));
  }

  private static ResponseDefinitionBuilder list(String data) {
    return aResponse()
        .withStatus(200)
        .withHeader("Content-Type", "application/json")
        .withBody("{\"object\":\"list\",\"data\":[" + data + "]}");
  }
}
