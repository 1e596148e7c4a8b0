package io.shopmesh.mesh.proxy.stats;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.ToLongFunction;

/** Istio's standard HTTP metrics, rendered in Prometheus text format as Envoy's stats sink does. */
public final class IstioMetrics {
  /** Label names in the order Envoy prints Istio's metrics. */
  public static final String[] LABELS = {
    "response_code",
    "reporter",
    "source_workload",
    "source_workload_namespace",
    "source_principal",
    "source_app",
    "source_version",
    "source_cluster",
    "destination_workload",
    "destination_workload_namespace",
    "destination_principal",
    "destination_app",
    "destination_version",
    "destination_service",
    "destination_service_name",
    "destination_service_namespace",
    "destination_cluster",
    "request_protocol",
    "response_flags",
    "grpc_response_status",
    "connection_security_policy",
    "source_canonical_service",
    "destination_canonical_service",
    "source_canonical_revision",
    "destination_canonical_revision"
  };

  /**
   * Envoy's default histogram buckets (stats_config without histogram_bucket_settings, as Istio's
   * bootstrap has it unless the sidecar.istio.io/statsHistogramBuckets annotation is set): every
   * Istio histogram uses them, the byte ones too.
   */
  public static final double[] DURATION_BUCKETS = {
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
    1800000, 3600000
  };

  public static final double[] BYTES_BUCKETS = DURATION_BUCKETS;

  /**
   * One label set's series. Found per request by the label values (their hashes are cached in the
   * strings, most of which are the same instances request after request); the Prometheus label text
   * is rendered once, when the series is created, not on every request.
   */
  private static final class Series {
    final String rendered;
    final LongAdder requests = new LongAdder();
    final Histogram duration = new Histogram(DURATION_BUCKETS);
    final Histogram requestBytes = new Histogram(BYTES_BUCKETS);
    final Histogram responseBytes = new Histogram(BYTES_BUCKETS);

    Series(String rendered) {
      this.rendered = rendered;
    }
  }

  /** The label values in LABELS order, with their hash computed once. */
  private static final class Key {
    final String[] values;
    final int hash;

    Key(String[] values) {
      this.values = values;
      this.hash = Arrays.hashCode(values);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && k.hash == hash && Arrays.equals(k.values, values);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }

  private final Map<Key, Series> series = new ConcurrentHashMap<>();

  /**
   * Labels of Istio's TCP metrics: the HTTP ones without response_code and grpc_response_status
   * (request_protocol is {@code tcp}).
   */
  public static final String[] TCP_LABELS =
      Arrays.stream(LABELS)
          .filter(l -> !l.equals("response_code") && !l.equals("grpc_response_status"))
          .toArray(String[]::new);

  /** One TCP label set's counters. */
  public static final class TcpSeries {
    final String rendered;
    final LongAdder opened = new LongAdder();
    final LongAdder closed = new LongAdder();
    final LongAdder sent = new LongAdder();
    final LongAdder received = new LongAdder();

    TcpSeries(String rendered) {
      this.rendered = rendered;
    }

    public void opened() {
      opened.increment();
    }

    public void closed() {
      closed.increment();
    }

    /** Bytes sent to the downstream (the response direction). */
    public void sent(long n) {
      sent.add(n);
    }

    /** Bytes received from the downstream (the request direction). */
    public void received(long n) {
      received.add(n);
    }
  }

  private final Map<Key, TcpSeries> tcp = new ConcurrentHashMap<>();

  /** The TCP series of a label set ({@code labels} maps each name of TCP_LABELS to its value). */
  public TcpSeries tcp(Map<String, String> labels) {
    String[] values = new String[TCP_LABELS.length];
    for (int i = 0; i < TCP_LABELS.length; i++) {
      String v = labels.get(TCP_LABELS[i]);
      values[i] = v == null ? "unknown" : v;
    }
    return tcp.computeIfAbsent(new Key(values), k -> new TcpSeries(render(TCP_LABELS, k.values)));
  }

  static final class Histogram {
    final double[] bounds;

    /**
     * Per bucket, not cumulative: one increment per value; Prometheus' cumulative counts at render.
     */
    final AtomicLongArray counts;

    final LongAdder count = new LongAdder();
    final DoubleAdder sum = new DoubleAdder();

    Histogram(double[] bounds) {
      this.bounds = bounds;
      this.counts = new AtomicLongArray(bounds.length);
    }

    void record(double v) {
      for (int i = 0; i < bounds.length; i++) {
        if (v <= bounds[i]) {
          counts.incrementAndGet(i);
          break;
        }
      }
      count.increment();
      sum.add(v);
    }

    /** Cumulative count of bucket i (values <= bounds[i]). */
    long cumulative(int i) {
      long c = 0;
      for (int j = 0; j <= i; j++) {
        c += counts.get(j);
      }
      return c;
    }
  }

  /** Records one request. {@code labels} maps each name of LABELS to its value. */
  public void record(Map<String, String> labels, long durationMs, long reqBytes, long respBytes) {
    String[] values = new String[LABELS.length];
    for (int i = 0; i < LABELS.length; i++) {
      String v = labels.get(LABELS[i]);
      values[i] = v == null ? "unknown" : v;
    }
    Series s = series.computeIfAbsent(new Key(values), k -> new Series(render(k.values)));
    s.requests.increment();
    s.duration.record(durationMs);
    s.requestBytes.record(reqBytes);
    s.responseBytes.record(respBytes);
  }

  public static Map<String, String> emptyLabels() {
    Map<String, String> m = new LinkedHashMap<>();
    for (String l : LABELS) {
      m.put(l, "unknown");
    }
    return m;
  }

  static String render(Map<String, String> labels) {
    String[] values = new String[LABELS.length];
    for (int i = 0; i < LABELS.length; i++) {
      values[i] = labels.getOrDefault(LABELS[i], "unknown");
    }
    return render(values);
  }

  private static String render(String[] values) {
    return render(LABELS, values);
  }

  private static String render(String[] names, String[] values) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < names.length; i++) {
      if (i > 0) {
        sb.append(',');
      }
      sb.append(names[i])
          .append("=\"")
          .append(values[i].replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n"))
          .append('"');
    }
    return sb.toString();
  }

  public String prometheus() {
    StringBuilder sb = new StringBuilder();
    sb.append("# TYPE istio_requests_total counter\n");
    series
        .values()
        .forEach(
            s ->
                sb.append("istio_requests_total{")
                    .append(s.rendered)
                    .append("} ")
                    .append(s.requests.sum())
                    .append('\n'));
    histogram(sb, "istio_request_bytes", 1);
    histogram(sb, "istio_request_duration_milliseconds", 0);
    histogram(sb, "istio_response_bytes", 2);
    if (!tcp.isEmpty()) {
      tcpCounter(sb, "istio_tcp_connections_opened_total", s -> s.opened.sum());
      tcpCounter(sb, "istio_tcp_connections_closed_total", s -> s.closed.sum());
      tcpCounter(sb, "istio_tcp_received_bytes_total", s -> s.received.sum());
      tcpCounter(sb, "istio_tcp_sent_bytes_total", s -> s.sent.sum());
    }
    return sb.toString();
  }

  private void tcpCounter(StringBuilder sb, String name, ToLongFunction<TcpSeries> value) {
    sb.append("# TYPE ").append(name).append(" counter\n");
    tcp.values()
        .forEach(
            s ->
                sb.append(name)
                    .append('{')
                    .append(s.rendered)
                    .append("} ")
                    .append(value.applyAsLong(s))
                    .append('\n'));
  }

  /** TCP counters per rendered label set: opened, closed, received, sent (tests). */
  public Map<String, long[]> tcpCounts() {
    Map<String, long[]> out = new LinkedHashMap<>();
    tcp.values()
        .forEach(
            s ->
                out.put(
                    s.rendered,
                    new long[] {s.opened.sum(), s.closed.sum(), s.received.sum(), s.sent.sum()}));
    return out;
  }

  private void histogram(StringBuilder sb, String name, int which) {
    sb.append("# TYPE ").append(name).append(" histogram\n");
    series
        .values()
        .forEach(
            s -> {
              Histogram h = which == 0 ? s.duration : which == 1 ? s.requestBytes : s.responseBytes;
              String k = s.rendered;
              long cumulative = 0;
              for (int i = 0; i < h.bounds.length; i++) {
                cumulative += h.counts.get(i);
                sb.append(name)
                    .append("_bucket{")
                    .append(k)
                    .append(",le=\"")
                    .append(fmt(h.bounds[i]))
                    .append("\"} ")
                    .append(cumulative)
                    .append('\n');
              }
              sb.append(name)
                  .append("_bucket{")
                  .append(k)
                  .append(",le=\"+Inf\"} ")
                  .append(h.count.sum())
                  .append('\n');
              sb.append(name)
                  .append("_sum{")
                  .append(k)
                  .append("} ")
                  .append(fmt(h.sum.sum()))
                  .append('\n');
              sb.append(name)
                  .append("_count{")
                  .append(k)
                  .append("} ")
                  .append(h.count.sum())
                  .append('\n');
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
    series.values().forEach(s -> out.put(s.rendered, s.requests.sum()));
    return out;
  }

  /** Envoy counters outside the Istio series, by stat name (the RBAC filters' for now). */
  private final Map<String, LongAdder> counters = new ConcurrentHashMap<>();

  /** Adds one to an Envoy counter, e.g. {@code http.inbound_0.0.0.0_8080.rbac.denied}. */
  public void count(String statName) {
    counters.computeIfAbsent(statName, k -> new LongAdder()).increment();
  }

  /** The Envoy counters by name, sorted, for the admin's /stats. */
  public Map<String, Long> counters() {
    Map<String, Long> out = new TreeMap<>();
    counters.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }

  static String[] labelNames() {
    return Arrays.copyOf(LABELS, LABELS.length);
  }
}
