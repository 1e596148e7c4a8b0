package io.shopmesh.order.service;

import io.quarkus.narayana.jta.QuarkusTransaction;
import io.shopmesh.order.model.OrderStatus;
import io.shopmesh.order.model.ShopOrder;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.persistence.LockModeType;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The order rows and their payment state. Every change is its own short transaction (none stays
 * open across a remote call) and is durable before the method returns: H2 runs with WRITE_DELAY=0
 * (the commit is written to the file, not left to a background writer) and each commit is followed
 * by CHECKPOINT SYNC (an fsync), so an answer given after it survives a kill -9 and a power cut.
 */
@ApplicationScoped
public class OrderStore {

  private static final Logger LOG = Logger.getLogger(OrderStore.class);

  /** How soon to ask again when the provider could not be asked. */
  static final Duration RETRY_UNKNOWN = Duration.ofSeconds(5);

  private final DataSource dataSource;
  private final boolean syncCommits;
  private final Duration settle;

  public OrderStore(
      DataSource dataSource,
      @ConfigProperty(name = "quarkus.datasource.jdbc.url") String jdbcUrl,
      @ConfigProperty(name = "order.db.sync-commits", defaultValue = "true") boolean syncCommits,
      @ConfigProperty(name = "order.reconcile.settle", defaultValue = "60s") Duration settle) {
    this.dataSource = dataSource;
    // only H2 files need it: PostgreSQL fsyncs its WAL on commit, memory has nothing to sync
    this.syncCommits =
        syncCommits && jdbcUrl.startsWith("jdbc:h2:") && !jdbcUrl.startsWith("jdbc:h2:mem:");
    this.settle = settle;
  }

  /**
   * The longest a charge request can still be under way after it was sent; only after it may "no
   * charge for this key" be taken as final.
   */
  public Duration settle() {
    return settle;
  }

  /** Records a new order as PAYMENT_PENDING with its key: the intent exists before the charge. */
  public ShopOrder insertIntent(Supplier<ShopOrder> order) {
    return durably(
        () -> {
          ShopOrder o = order.get();
          Instant now = Instant.now();
          o.idempotencyKey = ShopOrder.keyFor(o.id);
          o.status = OrderStatus.PAYMENT_PENDING;
          o.createdAt = now;
          o.updatedAt = now;
          o.paymentAttemptedAt = now;
          o.nextCheckAt = now.plus(settle);
          o.persist();
          return o;
        });
  }

  /** Marks a new charge attempt of an unpaid order (same key); a PAID order is returned as is. */
  public Optional<ShopOrder> startAttempt(String id) {
    return durably(
        () -> {
          ShopOrder o = ShopOrder.findById(id, LockModeType.PESSIMISTIC_WRITE);
          if (o == null || o.status == OrderStatus.PAID) {
            return Optional.ofNullable(o);
          }
          Instant now = Instant.now();
          o.status = OrderStatus.PAYMENT_PENDING;
          o.paymentAttemptedAt = now;
          o.nextCheckAt = now.plus(settle);
          o.updatedAt = now;
          return Optional.of(o);
        });
  }

  /**
   * Records what the provider said. PAID is never undone. "Not charged" is final only once the last
   * attempt is older than {@link #settle()}: until then a try the mesh gave up on may still charge,
   * so the order is looked at again. From the request path ({@code reconciling} false) a provider
   * error plus "no charge" answers PAYMENT_FAILED at once; the reconciler leaves a pending order
   * pending until it settles.
   */
  public ShopOrder record(String id, PaymentOutcome outcome, boolean reconciling) {
    return durably(
        () -> {
          ShopOrder o = ShopOrder.findById(id, LockModeType.PESSIMISTIC_WRITE);
          if (o == null || o.status == OrderStatus.PAID) {
            return o;
          }
          Instant now = Instant.now();
          o.updatedAt = now;
          switch (outcome.kind()) {
            case CHARGED -> {
              o.status = OrderStatus.PAID;
              o.chargeId = outcome.chargeId();
              o.failureReason = null;
              o.nextCheckAt = null;
            }
            case NOT_CHARGED -> {
              Instant settled = attemptedAt(o).plus(settle);
              if (now.isBefore(settled)) {
                if (!reconciling) {
                  o.status = OrderStatus.PAYMENT_FAILED;
                  o.failureReason = outcome.reason();
                }
                o.nextCheckAt = settled;
              } else {
                if (o.status != OrderStatus.PAYMENT_FAILED || o.failureReason == null) {
                  o.failureReason =
                      outcome.reason() != null
                          ? outcome.reason()
                          : "no charge at the payment provider for " + o.idempotencyKey;
                }
                o.status = OrderStatus.PAYMENT_FAILED;
                o.nextCheckAt = null;
              }
            }
            case UNKNOWN -> {
              if (o.status == OrderStatus.PAYMENT_PENDING) {
                o.failureReason = "payment outcome unknown: " + outcome.reason();
              }
              o.nextCheckAt = now.plus(RETRY_UNKNOWN);
            }
          }
          return o;
        });
  }

  /** Orders whose payment the reconciler has to check: due ones, or every unsettled one. */
  public List<String> due(boolean all, int max) {
    Instant by = all ? Instant.now().plus(Duration.ofDays(36500)) : Instant.now();
    return QuarkusTransaction.requiringNew().call(() -> ShopOrder.dueBy(by, max));
  }

  public Optional<ShopOrder> find(String id) {
    return QuarkusTransaction.requiringNew().call(() -> ShopOrder.<ShopOrder>findByIdOptional(id));
  }

  public List<ShopOrder> all() {
    return QuarkusTransaction.requiringNew().call(ShopOrder::newestFirst);
  }

  private static Instant attemptedAt(ShopOrder o) {
    return o.paymentAttemptedAt != null ? o.paymentAttemptedAt : o.updatedAt;
  }

  /** Runs {@code work} in a new transaction and returns only once its commit is on disk. */
  private <T> T durably(Supplier<T> work) {
    T result = QuarkusTransaction.requiringNew().call(work::get);
    sync();
    return result;
  }

  private void sync() {
    if (!syncCommits) {
      return;
    }
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement()) {
      s.execute("CHECKPOINT SYNC");
    } catch (SQLException e) {
      LOG.error("could not sync the order database", e);
      throw new IllegalStateException("could not sync the order database", e);
    }
  }
}
