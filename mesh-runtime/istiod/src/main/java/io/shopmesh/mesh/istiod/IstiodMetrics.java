package io.shopmesh.mesh.istiod;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * istiod's Prometheus metrics with Istio's names. Istio exports its counters without a {@code
 * _total} suffix ({@code pilot_xds_pushes}, {@code pilot_total_xds_rejects}), so they are monotonic
 * values registered under exactly those names.
 */
public final class IstiodMetrics {

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Map<String, AtomicLong> pushes = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> rejects = new ConcurrentHashMap<>();
  private final AtomicLong configRejects = new AtomicLong();
  private final DistributionSummary convergence;

  public IstiodMetrics(Supplier<Number> connectedProxies) {
    Gauge.builder("pilot_xds", connectedProxies)
        .description("Number of endpoints connected to this pilot using XDS.")
        .register(registry);
    for (String t : new String[] {"cds", "eds", "lds", "rds"}) {
      pushes.put(
          t,
          register(
              "pilot_xds_pushes", "Pilot build and send errors for lds, rds, cds and eds.", t));
      rejects.put(
          t,
          register(
              "pilot_xds_" + t + "_reject",
              "Pilot rejected " + t.toUpperCase() + " configs.",
              null));
    }
    Gauge.builder(
            "pilot_total_xds_rejects",
            this,
            m -> m.rejects.values().stream().mapToLong(AtomicLong::get).sum())
        .description("Total number of XDS responses from pilot rejected by proxy.")
        .register(registry);
    Gauge.builder("pilot_config_rejects", configRejects, AtomicLong::get)
        .description("Config resources rejected (invalid); the last good version keeps serving.")
        .register(registry);
    convergence =
        DistributionSummary.builder("pilot_proxy_convergence_time")
            .description(
                "Delays in seconds between config change and a proxy receiving all required configuration.")
            .serviceLevelObjectives(0.1, 0.5, 1, 3, 5, 10, 20, 30)
            .register(registry);
  }

  private AtomicLong register(String name, String help, String type) {
    AtomicLong v = new AtomicLong();
    Gauge.Builder<AtomicLong> b = Gauge.builder(name, v, AtomicLong::get).description(help);
    if (type != null) {
      b.tag("type", type);
    }
    b.register(registry);
    return v;
  }

  public void push(String type) {
    AtomicLong v = pushes.get(type);
    if (v != null) {
      v.incrementAndGet();
    }
  }

  public long pushes(String type) {
    AtomicLong v = pushes.get(type);
    return v == null ? 0 : v.get();
  }

  public void reject(String type) {
    AtomicLong v = rejects.get(type);
    if (v != null) {
      v.incrementAndGet();
    }
  }

  public long totalRejects() {
    return rejects.values().stream().mapToLong(AtomicLong::get).sum();
  }

  public void configRejects(long total) {
    configRejects.set(total);
  }

  public void convergence(double seconds) {
    convergence.record(seconds);
  }

  public String scrape() {
    return registry.scrape();
  }
}
