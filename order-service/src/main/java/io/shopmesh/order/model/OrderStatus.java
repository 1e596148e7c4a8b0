package io.shopmesh.order.model;

/** CREATED until the payment call ends, then PAID or PAYMENT_FAILED. */
public enum OrderStatus {
  CREATED,
  PAID,
  PAYMENT_FAILED
}
