package io.shopmesh.order;

import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.shopmesh.order.model.OrderStatus;
import io.shopmesh.order.model.ShopOrder;
import io.shopmesh.order.service.OrderStore;
import io.shopmesh.order.service.PaymentReconciler;
import io.shopmesh.testing.DownstreamWireMock;
import io.shopmesh.testing.InjectWireMock;
import jakarta.inject.Inject;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The reconciler's paths against a WireMock provider: a lost answer, an unreachable provider, a
 * crash between charge and commit, a try that charges after the order was answered PAYMENT_FAILED,
 * and no charge at all. The reconciler only asks; it never charges.
 */
@QuarkusTest
@QuarkusTestResource(
    value = DownstreamWireMock.class,
    initArgs =
        @ResourceArg(name = DownstreamWireMock.REST_CLIENTS, value = "product-service,payment-api"))
class PaymentReconcilerTest {

  @InjectWireMock WireMockServer wm;
  @Inject PaymentReconciler reconciler;
  @Inject OrderStore store;

  @BeforeEach
  void reset() {
    wm.resetAll();
    // other test classes share the in-memory database: settle what they left
    QuarkusTransaction.requiringNew()
        .run(() -> ShopOrder.update("nextCheckAt = null where nextCheckAt is not null"));
    Stubs.product(wm, 3, "49.50", null);
  }

  private static io.restassured.response.Response order() {
    return given()
        .contentType(ContentType.JSON)
        .body("{\"productId\": 3, \"quantity\": 2, \"customer\": \"rec\"}")
        .post("/api/orders");
  }

  private ShopOrder load(String id) {
    return store.find(id).orElseThrow();
  }

  @Test
  void lostAnswerIsFoundByKeyAndAnsweredPaid() {
    Stubs.chargeFails(wm, 503);
    Stubs.chargeFound(wm, null, "ch_lost");
    var res = order();
    res.then().statusCode(201).body("status", is("PAID")).body("chargeId", is("ch_lost"));
    String id = res.path("id");
    wm.verify(1, postRequestedFor(urlEqualTo("/v1/charges")));
    wm.verify(1, getRequestedFor(urlEqualTo("/v1/charges?idempotencyKey=order-" + id)));
    assertThat(load(id).nextCheckAt).isNull();
  }

  @Test
  void unknownOutcomeStaysPendingUntilTheReconcilerFindsTheCharge() {
    Stubs.chargeFails(wm, 504);
    Stubs.lookupFails(wm, 503);
    var res = order();
    res.then()
        .statusCode(201)
        .body("status", is("PAYMENT_PENDING"))
        .body(
            "failureReason", startsWith("payment outcome unknown: payment provider answered 504"));
    String id = res.path("id");

    wm.resetAll();
    Stubs.chargeFound(wm, "order-" + id, "ch_late");
    PaymentReconciler.Summary s = reconciler.reconcile(true);
    assertThat(s.checked()).isEqualTo(1);
    assertThat(s.paid()).isEqualTo(1);
    given()
        .get("/api/orders/" + id)
        .then()
        .body("status", is("PAID"))
        .body("chargeId", is("ch_late"));
    wm.verify(0, postRequestedFor(urlPathEqualTo("/v1/charges")));
  }

  @Test
  void crashBetweenChargeAndCommitIsRepaired() {
    // what a crash leaves: the intent is on disk, the charge happened, its answer never recorded
    ShopOrder intent = store.insertIntent(() -> newOrder());
    assertThat(intent.status).isEqualTo(OrderStatus.PAYMENT_PENDING);
    Stubs.chargeFound(wm, intent.idempotencyKey, "ch_crash");

    given()
        .post("/admin/reconcile")
        .then()
        .statusCode(200)
        .body("checked", is(1))
        .body("paid", is(1));
    ShopOrder after = load(intent.id);
    assertThat(after.status).isEqualTo(OrderStatus.PAID);
    assertThat(after.chargeId).isEqualTo("ch_crash");
    assertThat(after.nextCheckAt).isNull();
    wm.verify(0, postRequestedFor(urlPathEqualTo("/v1/charges")));
  }

  @Test
  void failedOrderThatWasChargedAfterAllBecomesPaid() {
    Stubs.chargeFails(wm, 503);
    Stubs.noCharge(wm);
    var res = order();
    res.then().statusCode(201).body("status", is("PAYMENT_FAILED"));
    String id = res.path("id");
    // it is looked at again once the attempt settles: a try the mesh gave up on may still charge
    assertThat(load(id).nextCheckAt).isNotNull();

    wm.resetAll();
    Stubs.chargeFound(wm, "order-" + id, "ch_slow");
    assertThat(reconciler.reconcile(true).paid()).isEqualTo(1);
    ShopOrder after = load(id);
    assertThat(after.status).isEqualTo(OrderStatus.PAID);
    assertThat(after.chargeId).isEqualTo("ch_slow");
    assertThat(after.failureReason).isNull();
  }

  @Test
  void noChargeStaysPendingUntilSettledThenFails() {
    ShopOrder intent = store.insertIntent(() -> newOrder());
    Stubs.noCharge(wm);

    PaymentReconciler.Summary early = reconciler.reconcile(true);
    assertThat(early.pending()).isEqualTo(1);
    assertThat(load(intent.id).status).isEqualTo(OrderStatus.PAYMENT_PENDING);
    // not due yet: the periodic pass leaves it alone
    assertThat(reconciler.reconcile(false).checked()).isZero();

    backdate(intent.id);
    PaymentReconciler.Summary late = reconciler.reconcile(false);
    assertThat(late.failed()).isEqualTo(1);
    ShopOrder after = load(intent.id);
    assertThat(after.status).isEqualTo(OrderStatus.PAYMENT_FAILED);
    assertThat(after.failureReason).startsWith("no charge at the payment provider for order-");
    assertThat(after.nextCheckAt).isNull();
    // settled: never asked again
    wm.resetAll();
    assertThat(reconciler.reconcile(true).checked()).isZero();
    wm.verify(0, postRequestedFor(urlPathEqualTo("/v1/charges")));
  }

  @Test
  void paidIsNeverUndone() {
    Stubs.chargeOk(wm);
    String id = order().then().statusCode(201).body("status", is("PAID")).extract().path("id");
    QuarkusTransaction.requiringNew()
        .run(() -> ShopOrder.update("nextCheckAt = ?1 where id = ?2", Instant.EPOCH, id));
    Stubs.noCharge(wm);
    reconciler.reconcile(true);
    assertThat(load(id).status).isEqualTo(OrderStatus.PAID);
    assertThat(load(id).chargeId).isEqualTo("ch_test1");
  }

  private static void backdate(String id) {
    Instant past = Instant.now().minusSeconds(3600);
    QuarkusTransaction.requiringNew()
        .run(
            () ->
                ShopOrder.update(
                    "paymentAttemptedAt = ?1, nextCheckAt = ?1 where id = ?2", past, id));
  }

  private static ShopOrder newOrder() {
    ShopOrder o = new ShopOrder();
    o.id = UUID.randomUUID().toString();
    o.productId = 3;
    o.productName = "Merino T-Shirt";
    o.productVersion = "v1";
    o.quantity = 1;
    o.customer = "crash";
    o.unitPrice = new BigDecimal("49.50");
    o.total = new BigDecimal("49.50");
    o.currency = "EUR";
    return o;
  }
}
