package io.shopmesh.order.rest;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.shopmesh.order.model.OrderStatus;
import io.shopmesh.order.model.ShopOrder;
import java.math.BigDecimal;
import java.time.Instant;

@JsonInclude(JsonInclude.Include.NON_NULL)
public record OrderView(
    String id,
    int productId,
    String productName,
    String productVersion,
    int quantity,
    String customer,
    BigDecimal unitPrice,
    BigDecimal total,
    String currency,
    OrderStatus status,
    String chargeId,
    String idempotencyKey,
    String failureReason,
    Instant createdAt,
    Instant updatedAt) {

  static OrderView of(ShopOrder o) {
    return new OrderView(
        o.id,
        o.productId,
        o.productName,
        o.productVersion,
        o.quantity,
        o.customer,
        o.unitPrice,
        o.total,
        o.currency,
        o.status,
        o.chargeId,
        o.idempotencyKey,
        o.failureReason,
        o.createdAt,
        o.updatedAt);
  }
}
