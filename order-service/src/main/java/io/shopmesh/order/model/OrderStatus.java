package io.shopmesh.order.model;

/**
 * PAYMENT_PENDING from the moment the order is recorded (before the charge) until the payment's
 * outcome is known; then PAID or PAYMENT_FAILED. A PAYMENT_FAILED order becomes PAID if the
 * provider turns out to hold a charge for its key; PAID is final.
 */
public enum OrderStatus {
  PAYMENT_PENDING,
  PAID,
  PAYMENT_FAILED
}
