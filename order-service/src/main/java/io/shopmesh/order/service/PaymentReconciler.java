package io.shopmesh.order.service;

import io.quarkus.scheduler.Scheduled;
import io.shopmesh.order.model.OrderStatus;
import io.shopmesh.order.model.ShopOrder;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * Completes orders whose payment outcome is unknown: a timeout, a lost answer, or a crash between
 * the charge and its commit. It asks the provider by idempotency key (a look-up never charges): a
 * charge found makes the order PAID with that charge; no charge once the attempt has settled makes
 * it PAYMENT_FAILED. Runs at start-up over every unsettled order (the crash repair), then every
 * {@code order.reconcile.every} over the due ones, and on POST /admin/reconcile.
 */
@ApplicationScoped
public class PaymentReconciler {

  private static final Logger LOG = Logger.getLogger(PaymentReconciler.class);
  private static final int BATCH = 500;

  /** What one pass did: orders checked, and where they ended. */
  public record Summary(int checked, int paid, int failed, int pending) {}

  private final OrderStore store;
  private final Payments payments;
  private final AtomicBoolean startupPassDone = new AtomicBoolean();

  public PaymentReconciler(OrderStore store, Payments payments) {
    this.store = store;
    this.payments = payments;
  }

  @Scheduled(
      identity = "payment-reconciler",
      every = "${order.reconcile.every:10s}",
      delayed = "${order.reconcile.delay:1s}",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  void scheduled() {
    boolean all = !startupPassDone.get();
    Summary s = reconcile(all);
    startupPassDone.set(true);
    if (s.checked() > 0) {
      LOG.infof("payment reconciliation%s: %s", all ? " at start-up" : "", s);
    }
  }

  /** One pass: {@code all} checks every unsettled order now, else only those due. */
  public synchronized Summary reconcile(boolean all) {
    int paid = 0;
    int failed = 0;
    int pending = 0;
    int checked = 0;
    for (String id : store.due(all, BATCH)) {
      Optional<ShopOrder> found = store.find(id);
      if (found.isEmpty()) {
        continue;
      }
      checked++;
      PaymentOutcome outcome = payments.lookup(found.get().idempotencyKey, null);
      ShopOrder after = store.record(id, outcome, true);
      if (after.status == OrderStatus.PAID) {
        paid++;
      } else if (after.status == OrderStatus.PAYMENT_FAILED) {
        failed++;
      } else {
        pending++;
      }
    }
    return new Summary(checked, paid, failed, pending);
  }
}
