package io.shopmesh.order.service;

import io.shopmesh.order.client.ProductClient;
import io.shopmesh.order.client.ProductInfo;
import io.shopmesh.order.model.OrderStatus;
import io.shopmesh.order.model.ShopOrder;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.ws.rs.ProcessingException;
import jakarta.ws.rs.WebApplicationException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.eclipse.microprofile.rest.client.inject.RestClient;

/**
 * Places orders: price from product-service, the order recorded as PAYMENT_PENDING with its
 * idempotency key (durably, before anything is charged), then one charge at the payment API, then
 * the outcome recorded. A crash anywhere leaves a pending row that {@link PaymentReconciler}
 * completes by asking the provider about the key.
 *
 * <p>There is deliberately no application-level retry: the mesh (payment-vs) already retries, and
 * retries at two layers multiply. The Idempotency-Key "order-&lt;id&gt;" makes the mesh's retries,
 * and a later {@link #retryPayment}, safe: the provider charges an order at most once.
 */
@ApplicationScoped
public class OrderService {

  private final ProductClient products;
  private final Payments payments;
  private final OrderStore store;

  public OrderService(@RestClient ProductClient products, Payments payments, OrderStore store) {
    this.products = products;
    this.payments = payments;
    this.store = store;
  }

  public ShopOrder place(OrderRequest req) {
    ProductInfo product = fetchProduct(req.productId());
    BigDecimal unit = product.effectivePrice();
    if (unit == null) {
      throw new OrderException(502, "Bad product answer", "product-service sent no price", null);
    }
    ShopOrder order =
        store.insertIntent(
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
              return o;
            });
    return pay(order);
  }

  /** Charges an unpaid order again, with the same idempotency key as the first try. */
  public Optional<ShopOrder> retryPayment(String id) {
    Optional<ShopOrder> order = store.startAttempt(id);
    if (order.isEmpty() || order.get().status == OrderStatus.PAID) {
      return order;
    }
    return Optional.of(pay(order.get()));
  }

  public Optional<ShopOrder> find(String id) {
    return store.find(id);
  }

  public List<ShopOrder> all() {
    return store.all();
  }

  private ShopOrder pay(ShopOrder order) {
    return store.record(order.id, payments.charge(order), false);
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
          "product-service unreachable: " + Payments.rootMessage(e),
          null);
    }
  }
}
