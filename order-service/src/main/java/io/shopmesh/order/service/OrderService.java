package io.shopmesh.order.service;

import io.quarkus.narayana.jta.QuarkusTransaction;
import io.shopmesh.order.client.ChargeRequest;
import io.shopmesh.order.client.ChargeResponse;
import io.shopmesh.order.client.PaymentClient;
import io.shopmesh.order.client.ProductClient;
import io.shopmesh.order.client.ProductInfo;
import io.shopmesh.order.model.OrderStatus;
import io.shopmesh.order.model.ShopOrder;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.ws.rs.ProcessingException;
import jakarta.ws.rs.WebApplicationException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.eclipse.microprofile.rest.client.inject.RestClient;
import org.jboss.logging.Logger;

/**
 * Places orders: price from product-service, then one charge at the payment API. Each database step
 * is its own short transaction, so no transaction stays open across a remote call.
 *
 * <p>There is deliberately no application-level retry: the mesh (payment-vs) already retries, and
 * retries at two layers multiply. The Idempotency-Key "order-&lt;id&gt;" makes the mesh's retries,
 * and a later {@link #retryPayment}, safe: the provider charges an order at most once.
 */
@ApplicationScoped
public class OrderService {

  private static final Logger LOG = Logger.getLogger(OrderService.class);

  private final ProductClient products;
  private final PaymentClient payments;

  public OrderService(@RestClient ProductClient products, @RestClient PaymentClient payments) {
    this.products = products;
    this.payments = payments;
  }

  public ShopOrder place(OrderRequest req) {
    ProductInfo product = fetchProduct(req.productId());
    BigDecimal unit = product.effectivePrice();
    if (unit == null) {
      throw new OrderException(502, "Bad product answer", "product-service sent no price", null);
    }
    ShopOrder order =
        QuarkusTransaction.requiringNew()
            .call(
                () -> {
                  ShopOrder o = new ShopOrder();
                  o.id = UUID.randomUUID().toString();
                  o.productId = req.productId();
                  o.productName = product.name();
                  o.productVersion = product.version();
                  o.quantity = req.quantity();
                  o.customer = req.customer();
                  o.unitPrice = unit.setScale(2, RoundingMode.HALF_UP);
                  o.total =
                      unit.multiply(BigDecimal.valueOf(req.quantity()))
                          .setScale(2, RoundingMode.HALF_UP);
                  o.currency = product.currency() == null ? "EUR" : product.currency();
                  o.status = OrderStatus.CREATED;
                  o.createdAt = Instant.now();
                  o.updatedAt = o.createdAt;
                  o.persist();
                  return o;
                });
    return pay(order);
  }

  /** Charges a PAYMENT_FAILED order again, with the same idempotency key as the first try. */
  public Optional<ShopOrder> retryPayment(String id) {
    Optional<ShopOrder> order = find(id);
    if (order.isEmpty()) {
      return order;
    }
    if (order.get().status == OrderStatus.PAID) {
      return order;
    }
    return Optional.of(pay(order.get()));
  }

  public Optional<ShopOrder> find(String id) {
    return QuarkusTransaction.requiringNew().call(() -> ShopOrder.<ShopOrder>findByIdOptional(id));
  }

  public List<ShopOrder> all() {
    return QuarkusTransaction.requiringNew().call(ShopOrder::newestFirst);
  }

  private ProductInfo fetchProduct(int productId) {
    try {
      return products.get(productId);
    } catch (WebApplicationException e) {
      int status = e.getResponse().getStatus();
      if (status == 404) {
        throw new OrderException(
            400,
            "Invalid order",
            "Invalid fields: productId",
            List.of(new FieldError("productId", "no product with id " + productId)));
      }
      throw new OrderException(
          502, "Product service error", "product-service answered " + status, null);
    } catch (ProcessingException e) {
      throw new OrderException(
          503,
          "Product service unavailable",
          "product-service unreachable: " + rootMessage(e),
          null);
    }
  }

  private ShopOrder pay(ShopOrder order) {
    ChargeRequest charge =
        new ChargeRequest(
            order.total,
            order.currency,
            order.quantity + " x " + order.productName + " for " + order.customer,
            Map.of("orderId", order.id));
    OrderStatus status;
    String chargeId = null;
    String reason = null;
    try {
      ChargeResponse res = payments.charge(order.idempotencyKey(), charge);
      status = OrderStatus.PAID;
      chargeId = res.id();
    } catch (WebApplicationException e) {
      status = OrderStatus.PAYMENT_FAILED;
      reason = "payment provider answered " + e.getResponse().getStatus();
    } catch (ProcessingException e) {
      status = OrderStatus.PAYMENT_FAILED;
      reason = "payment provider unreachable: " + rootMessage(e);
    }
    if (reason != null) {
      LOG.warnf("order %s: %s", order.id, reason);
    }
    OrderStatus finalStatus = status;
    String finalCharge = chargeId;
    String finalReason = reason;
    return QuarkusTransaction.requiringNew()
        .call(
            () -> {
              ShopOrder o = ShopOrder.findById(order.id);
              o.status = finalStatus;
              o.chargeId = finalCharge;
              o.failureReason = finalReason;
              o.updatedAt = Instant.now();
              return o;
            });
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
  }
}
