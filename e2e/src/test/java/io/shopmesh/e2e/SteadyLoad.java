package io.shopmesh.e2e;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Gateway traffic at a fixed rate (GET /products through the frontend to the product service) for
 * as long as it runs; counts every answer that is not a product page (non-200, a fallback page, a
 * transport error) with what it was. Loopback only, bounded by whoever stops it.
 */
final class SteadyLoad implements AutoCloseable {

  private final ShopClient shop;
  private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor();
  private final ExecutorService workers = Executors.newFixedThreadPool(32);
  final AtomicInteger sent = new AtomicInteger();
  final AtomicInteger ok = new AtomicInteger();
  final Map<String, AtomicInteger> failures = new ConcurrentHashMap<>();
  final List<String> firstFailures = java.util.Collections.synchronizedList(new ArrayList<>());

  SteadyLoad(ShopClient shop, int perSecond) {
    this.shop = shop;
    long periodMicros = 1_000_000L / perSecond;
    ticker.scheduleAtFixedRate(
        () -> workers.submit(this::one), 0, periodMicros, TimeUnit.MICROSECONDS);
  }

  private void one() {
    sent.incrementAndGet();
    String what;
    try {
      ShopClient.Response r = shop.get("/products");
      String v = r.version();
      if (r.status() == 200 && (v.equals("v1") || v.equals("v2"))) {
        ok.incrementAndGet();
        return;
      }
      what =
          r.status()
              + (r.status() == 200 ? " fallback" : "")
              + " "
              + r.header("x-envoy-response-flags").orElse("");
    } catch (RuntimeException e) {
      what = "transport " + e.getClass().getSimpleName();
    }
    failures.computeIfAbsent(what.trim(), k -> new AtomicInteger()).incrementAndGet();
    if (firstFailures.size() < 10) {
      firstFailures.add(System.currentTimeMillis() + " " + what);
    }
  }

  int errors() {
    return failures.values().stream().mapToInt(AtomicInteger::get).sum();
  }

  @Override
  public void close() throws InterruptedException {
    ticker.shutdownNow();
    workers.shutdown();
    workers.awaitTermination(60, TimeUnit.SECONDS);
    workers.shutdownNow();
  }

  @Override
  public String toString() {
    return sent + " requests, " + ok + " product pages, " + errors() + " errors " + failures;
  }
}
