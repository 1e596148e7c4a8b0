package io.shopmesh.mesh.proxy.stats;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/** Istio's standard HTTP metrics, rendered in Prometheus text format as Envoy's stats sink does. */
public final class IstioMetrics {
  /** Label names in the order Envoy prints Istio's metrics. */
  public static final String[] LABELS = {
      "response_code", "reporter", "source_workload", "source_workload_namespace",
      "source_principal", "source_app", "source_version", "source_cluster", "destination_workload",
      "destination_workload_namespace", "destination_principal", "destination_app",
      "destination_version", "destination_service", "destination_service_name",
      "destination_service_namespace", "destination_cluster", "request_protocol", "response_flags",
      "grpc_response_status", "connection_security_policy", "source_canonical_service",
      "destination_canonical_service", "source_canonical_revision", "destination_canonical_revision"};

  public static final double[] DURATION_BUCKETS = {0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500,
      5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000};
  public static final double[] BYTES_BUCKETS = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
      100000000, 1000000000};

  private final Map<String, AtomicLong> requests = new ConcurrentHashMap<>();
  private final Map<String, Histogram> duration = new ConcurrentHashMap<>();
  private final Map<String, Histogram> requestBytes = new ConcurrentHashMap<>();
  private final Map<String, Histogram> responseBytes = new ConcurrentHashMap<>();

  static final class Histogram {
    final double[] bounds;
    final AtomicLongArray counts;
    final AtomicLong count = new AtomicLong();
    final java.util.concurrent.atomic.DoubleAdder sum = new java.util.concurrent.atomic.DoubleAdder();

    Histogram(double[] bounds) {
      this.bounds = bounds;
      this.counts = new AtomicLongArray(bounds.length);
    }

    void record(double v) {
      for (int i = 0; i < bounds.length; i++) {
        if (v <= bounds[i]) {
          counts.incrementAndGet(i);
        }
      }
      count.incrementAndGet();
      sum.add(v);
    }
  }

  /** Records one request. {@code labels} maps each name of LABELS to its value. */
  public void record(Map<String, String> labels, long durationMs, long reqBytes, long respBytes) {
    String key = render(labels);
    requests.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet();
    duration.computeIfAbsent(key, k -> new Histogram(DURATION_BUCKETS)).record(durationMs);
    requestBytes.computeIfAbsent(key, k -> new Histogram(BYTES_BUCKETS)).record(reqBytes);
    responseBytes.computeIfAbsent(key, k -> new Histogram(BYTES_BUCKETS)).record(respBytes);
  }

  public static Map<String, String> emptyLabels() {
    Map<String, String> m = new LinkedHashMap<>();
    for (String l : LABELS) {
      m.put(l, "unknown");
    }
    return m;
  }

  static String render(Map<String, String> labels) {
    StringBuilder sb = new StringBuilder();
    for (String l : LABELS) {
      if (sb.length() > 0) {
        sb.append(',');
      }
      String v = labels.getOrDefault(l, "unknown");
      sb.append(l).append("=\"").append(v.replace("\\", "\\\\").replace("\"", "\\\"")
          .replace("\n", "\\n")).append('"');
    }
    return sb.toString();
  }

  public String prometheus() {
    StringBuilder sb = new StringBuilder();
    sb.append("# TYPE istio_requests_total counter\n");
    requests.forEach((k, v) -> sb.append("istio_requests_total{").append(k).append("} ")
        .append(v.get()).append('\n'));
    histogram(sb, "istio_request_bytes", requestBytes);
    histogram(sb, "istio_request_duration_milliseconds", duration);
    histogram(sb, "istio_response_bytes", responseBytes);
    return sb.toString();
  }

  private static void histogram(StringBuilder sb, String name, Map<String, Histogram> m) {
    sb.append("# TYPE ").append(name).append(" histogram\n");
    m.forEach((k, h) -> {
      for (int i = 0; i < h.bounds.length; i++) {
        sb.append(name).append("_bucket{").append(k).append(",le=\"").append(fmt(h.bounds[i]))
            .append("\"} ").append(h.counts.get(i)).append('\n');
      }
      sb.append(name).append("_bucket{").append(k).append(",le=\"+Inf\"} ").append(h.count.get())
          .append('\n');
      sb.append(name).append("_sum{").append(k).append("} ").append(fmt(h.sum.sum())).append('\n');
      sb.append(name).append("_count{").append(k).append("} ").append(h.count.get()).append('\n');
    });
  }

  static String fmt(double d) {
    if (d == Math.rint(d) && !Double.isInfinite(d) && Math.abs(d) < 1e15) {
      return Long.toString((long) d);
    }
    return Double.toString(d);
  }

  /** Values of istio_requests_total per rendered label set (for tests and /stats). */
  public Map<String, Long> requestCounts() {
    Map<String, Long> out = new LinkedHashMap<>();
    requests.forEach((k, v) -> out.put(k, v.get()));
    return out;
  }

  static String[] labelNames() {
    return Arrays.copyOf(LABELS, LABELS.length);
  }
}
