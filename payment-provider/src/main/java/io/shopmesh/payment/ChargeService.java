package io.shopmesh.payment;

import jakarta.enterprise.context.ApplicationScoped;
import java.time.Instant;
import java.util.Collection;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Charges, kept in memory. An idempotency key maps to exactly one charge: the map's atomic
 * computeIfAbsent makes concurrent requests with one key wait for, and then share, one charge.
 */
@ApplicationScoped
public class ChargeService {

  /** The outcome of a charge request. */
  public record Result(Charge charge, boolean replayed) {}

  /** Same key, different amount or currency: the client has a bug, say so (like Stripe). */
  public static class KeyReuseException extends RuntimeException {
    KeyReuseException(String msg) {
      super(msg);
    }
  }

  private final Map<String, Charge> byId = new ConcurrentHashMap<>();
  private final Map<String, Charge> byKey = new ConcurrentHashMap<>();
  private final AtomicLong replays = new AtomicLong();

  public Result charge(String idempotencyKey, ChargeRequest req) {
    if (idempotencyKey == null || idempotencyKey.isBlank()) {
      Charge c = newCharge(null, req);
      byId.put(c.id(), c);
      return new Result(c, false);
    }
    AtomicBoolean created = new AtomicBoolean();
    Charge c =
        byKey.computeIfAbsent(
            idempotencyKey,
            k -> {
              Charge fresh = newCharge(k, req);
              byId.put(fresh.id(), fresh);
              created.set(true);
              return fresh;
            });
    if (!created.get()) {
      if (c.amount().compareTo(req.amount()) != 0 || !c.currency().equals(currency(req))) {
        throw new KeyReuseException(
            "Idempotency-Key '"
                + idempotencyKey
                + "' was used for a different charge ("
                + c.amount()
                + " "
                + c.currency()
                + ")");
      }
      replays.incrementAndGet();
    }
    return new Result(c, !created.get());
  }

  public Optional<Charge> find(String id) {
    return Optional.ofNullable(byId.get(id));
  }

  public Optional<Charge> findByKey(String idempotencyKey) {
    return Optional.ofNullable(byKey.get(idempotencyKey));
  }

  public Collection<Charge> all() {
    return byId.values();
  }

  public long count() {
    return byId.size();
  }

  public long replays() {
    return replays.get();
  }

  public void reset() {
    byKey.clear();
    byId.clear();
    replays.set(0);
  }

  private static Charge newCharge(String key, ChargeRequest req) {
    byte[] rnd = new byte[12];
    ThreadLocalRandom.current().nextBytes(rnd);
    return new Charge(
        "ch_" + HexFormat.of().formatHex(rnd),
        "charge",
        req.amount(),
        currency(req),
        req.description(),
        req.metadata(),
        "succeeded",
        key,
        Instant.now());
  }

  private static String currency(ChargeRequest req) {
    return req.currency() == null || req.currency().isBlank()
        ? "EUR"
        : req.currency().toUpperCase(Locale.ROOT);
  }
}
