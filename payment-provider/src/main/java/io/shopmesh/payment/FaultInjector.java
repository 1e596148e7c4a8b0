package io.shopmesh.payment;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Failure injection for POST /v1/charges, so mesh retries and timeouts can be shown. Starts from
 * config (payment.faults.*) and is replaced at run time through /admin/faults.
 */
@ApplicationScoped
public class FaultInjector {

  /** When an injected error happens relative to the charge. */
  public enum Phase {
    /** Fail before charging: nothing is recorded, a retry with the same key charges once. */
    before,
    /** Charge, then fail the answer (a lost response): a retry with the same key replays it. */
    after
  }

  /**
   * The fault settings. errorRate 0..1; failNext forces the next N requests to fail whatever the
   * rate (deterministic demos); latencyMs is added to every charge request.
   */
  public record Faults(
      Double errorRate, Integer statusCode, Long latencyMs, Phase phase, Integer failNext) {

    static final Faults NONE = new Faults(0.0, 503, 0L, Phase.before, 0);

    Faults normalised() {
      return new Faults(
          errorRate == null ? 0.0 : errorRate,
          statusCode == null ? 503 : statusCode,
          latencyMs == null ? 0L : latencyMs,
          phase == null ? Phase.before : phase,
          failNext == null ? 0 : failNext);
    }
  }

  /** What to do with one request. */
  public record Decision(long latencyMs, Integer errorStatus, Phase phase) {}

  private final AtomicReference<Faults> current = new AtomicReference<>(Faults.NONE);
  private final AtomicInteger failNext = new AtomicInteger();
  private final AtomicLong injected = new AtomicLong();

  public FaultInjector(
      @ConfigProperty(name = "payment.faults.error-rate", defaultValue = "0") double errorRate,
      @ConfigProperty(name = "payment.faults.status-code", defaultValue = "503") int statusCode,
      @ConfigProperty(name = "payment.faults.latency-ms", defaultValue = "0") long latencyMs,
      @ConfigProperty(name = "payment.faults.phase", defaultValue = "before") Phase phase,
      @ConfigProperty(name = "payment.faults.fail-next", defaultValue = "0") int failNext) {
    set(new Faults(errorRate, statusCode, latencyMs, phase, failNext));
  }

  public Faults get() {
    Faults f = current.get();
    return new Faults(f.errorRate(), f.statusCode(), f.latencyMs(), f.phase(), failNext.get());
  }

  public void set(Faults faults) {
    Faults f = faults.normalised();
    if (f.errorRate() < 0 || f.errorRate() > 1) {
      throw new IllegalArgumentException("errorRate must be between 0 and 1");
    }
    if (f.statusCode() < 400 || f.statusCode() > 599) {
      throw new IllegalArgumentException("statusCode must be a 4xx or 5xx code");
    }
    if (f.latencyMs() < 0 || f.failNext() < 0) {
      throw new IllegalArgumentException("latencyMs and failNext must not be negative");
    }
    current.set(f);
    failNext.set(f.failNext());
  }

  public void clear() {
    set(Faults.NONE);
  }

  public Decision decide() {
    Faults f = current.get();
    boolean fail = failNext.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0;
    if (!fail && f.errorRate() > 0) {
      fail = ThreadLocalRandom.current().nextDouble() < f.errorRate();
    }
    if (fail) {
      injected.incrementAndGet();
    }
    return new Decision(f.latencyMs(), fail ? f.statusCode() : null, f.phase());
  }

  public long injectedCount() {
    return injected.get();
  }

  public void resetCounters() {
    injected.set(0);
  }
}
