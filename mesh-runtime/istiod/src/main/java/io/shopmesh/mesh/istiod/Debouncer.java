package io.shopmesh.mesh.istiod;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Istio's push debounce: an event starts a quiet period ({@code PILOT_DEBOUNCE_AFTER}, 100 ms);
 * further events restart it, but never beyond {@code PILOT_DEBOUNCE_MAX} (10 s) after the first.
 * The action receives the nanoTime of the first event (for convergence time).
 */
public final class Debouncer implements AutoCloseable {

  private final ScheduledExecutorService exec;
  private final long afterNanos;
  private final long maxNanos;
  private final LongConsumer action;
  private long firstEvent = -1;
  private long lastEvent;
  private ScheduledFuture<?> pending;

  public Debouncer(long afterMillis, long maxMillis, LongConsumer action) {
    this.afterNanos = TimeUnit.MILLISECONDS.toNanos(afterMillis);
    this.maxNanos = TimeUnit.MILLISECONDS.toNanos(maxMillis);
    this.action = action;
    this.exec =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "push-debounce");
              t.setDaemon(true);
              return t;
            });
  }

  public synchronized void trigger() {
    long now = System.nanoTime();
    if (firstEvent < 0) {
      firstEvent = now;
    }
    lastEvent = now;
    if (pending == null) {
      pending = exec.schedule(this::fire, afterNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void fire() {
    long start;
    synchronized (this) {
      long now = System.nanoTime();
      long quietFor = now - lastEvent;
      if (quietFor < afterNanos && now - firstEvent < maxNanos) {
        long wait = Math.min(afterNanos - quietFor, maxNanos - (now - firstEvent));
        pending = exec.schedule(this::fire, wait, TimeUnit.NANOSECONDS);
        return;
      }
      start = firstEvent;
      firstEvent = -1;
      pending = null;
    }
    try {
      action.accept(start);
    } catch (RuntimeException e) {
      Logger.getLogger(Debouncer.class.getName()).log(Level.SEVERE, "push failed", e);
    }
  }

  @Override
  public void close() {
    exec.shutdownNow();
  }
}
