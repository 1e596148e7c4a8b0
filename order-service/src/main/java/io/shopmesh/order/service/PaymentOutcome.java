package io.shopmesh.order.service;

/** What the provider says about one order's payment. */
public record PaymentOutcome(Kind kind, String chargeId, String reason) {

  /** CHARGED: a charge exists; NOT_CHARGED: the provider holds none; UNKNOWN: no answer. */
  public enum Kind {
    CHARGED,
    NOT_CHARGED,
    UNKNOWN
  }

  static PaymentOutcome charged(String chargeId) {
    return new PaymentOutcome(Kind.CHARGED, chargeId, null);
  }

  static PaymentOutcome notCharged(String reason) {
    return new PaymentOutcome(Kind.NOT_CHARGED, null, reason);
  }

  static PaymentOutcome unknown(String reason) {
    return new PaymentOutcome(Kind.UNKNOWN, null, reason);
  }
}
