package io.shopmesh.order.model;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;

/** An order row. The id is a UUID made here, so the payment idempotency key exists up front. */
@Entity
@Table(name = "orders")
public class ShopOrder extends PanacheEntityBase {

  @Id
  @Column(length = 36)
  public String id;

  @Column(name = "product_id", nullable = false)
  public int productId;

  @Column(name = "product_name")
  public String productName;

  @Column(name = "product_version")
  public String productVersion;

  @Column(nullable = false)
  public int quantity;

  @Column(nullable = false)
  public String customer;

  @Column(name = "unit_price", nullable = false)
  public BigDecimal unitPrice;

  @Column(nullable = false)
  public BigDecimal total;

  @Column(nullable = false)
  public String currency;

  @Enumerated(EnumType.STRING)
  @Column(nullable = false)
  public OrderStatus status;

  @Column(name = "charge_id")
  public String chargeId;

  @Column(name = "failure_reason")
  public String failureReason;

  /** The key the payment provider deduplicates on: one order, at most one charge. */
  @Column(name = "idempotency_key", nullable = false, unique = true)
  public String idempotencyKey;

  /** When the last charge request was sent (or about to be). */
  @Column(name = "payment_attempted_at")
  public Instant paymentAttemptedAt;

  /** When the reconciler should ask the provider about this order; null once settled. */
  @Column(name = "next_check_at")
  public Instant nextCheckAt;

  @Column(name = "created_at", nullable = false)
  public Instant createdAt;

  @Column(name = "updated_at", nullable = false)
  public Instant updatedAt;

  public static String keyFor(String orderId) {
    return "order-" + orderId;
  }

  public static List<ShopOrder> newestFirst() {
    return list("order by createdAt desc");
  }

  /** Ids of orders the reconciler has to look at by {@code now}, oldest check first. */
  public static List<String> dueBy(Instant now, int max) {
    return ShopOrder.<ShopOrder>find("nextCheckAt <= ?1 order by nextCheckAt", now)
        .page(0, max)
        .list()
        .stream()
        .map(o -> o.id)
        .toList();
  }
}
