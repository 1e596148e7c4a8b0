package io.shopmesh.order.service;

import io.shopmesh.order.client.ChargeList;
import io.shopmesh.order.client.ChargeRequest;
import io.shopmesh.order.client.ChargeResponse;
import io.shopmesh.order.client.PaymentClient;
import io.shopmesh.order.model.ShopOrder;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.ws.rs.ProcessingException;
import jakarta.ws.rs.WebApplicationException;
import java.util.Map;
import java.util.Optional;
import org.eclipse.microprofile.rest.client.inject.RestClient;
import org.jboss.logging.Logger;

/**
 * The payment API as the order service uses it: one charge request per attempt (the mesh retries,
 * the app does not), and a look-up by idempotency key whenever the charge's answer is not a
 * success, because an error or a timeout does not say whether the provider charged.
 */
@ApplicationScoped
public class Payments {

  private static final Logger LOG = Logger.getLogger(Payments.class);

  private final PaymentClient client;

  public Payments(@RestClient PaymentClient client) {
    this.client = client;
  }

  /** Charges the order under its idempotency key; on failure asks the provider what happened. */
  public PaymentOutcome charge(ShopOrder order) {
    ChargeRequest req =
        new ChargeRequest(
            order.total,
            order.currency,
            order.quantity + " x " + order.productName + " for " + order.customer,
            Map.of("orderId", order.id));
    String failure;
    try {
      ChargeResponse res = client.charge(order.idempotencyKey, req);
      return PaymentOutcome.charged(res.id());
    } catch (WebApplicationException e) {
      failure = "payment provider answered " + e.getResponse().getStatus();
    } catch (ProcessingException e) {
      failure = "payment provider unreachable: " + rootMessage(e);
    }
    LOG.warnf("order %s: %s; asking the provider by key", order.id, failure);
    return lookup(order.idempotencyKey, failure);
  }

  /**
   * Asks the provider whether it holds a charge for the key. {@code failure} is what went wrong
   * with the charge request, if anything (kept as the order's failure reason).
   */
  public PaymentOutcome lookup(String idempotencyKey, String failure) {
    try {
      ChargeList list = client.findByKey(idempotencyKey);
      Optional<ChargeResponse> charge =
          list == null || list.data() == null
              ? Optional.empty()
              : list.data().stream().filter(c -> c.id() != null).findFirst();
      if (charge.isPresent()) {
        if (failure != null) {
          LOG.infof("%s: charged after all (%s)", idempotencyKey, charge.get().id());
        }
        return PaymentOutcome.charged(charge.get().id());
      }
      return PaymentOutcome.notCharged(failure);
    } catch (WebApplicationException e) {
      return PaymentOutcome.unknown(
          reason(failure) + "look-up answered " + e.getResponse().getStatus());
    } catch (ProcessingException e) {
      return PaymentOutcome.unknown(reason(failure) + "look-up failed: " + rootMessage(e));
    }
  }

  private static String reason(String failure) {
    return failure == null ? "" : failure + "; ";
  }

  static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
  }
}
