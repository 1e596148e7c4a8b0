package io.shopmesh.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The results as Markdown: machine, versions, command, tables, ratios, figures to beat. */
final class Report {

  static final String BEGIN = begin("results");
  static final String END = end("results");

  /** The markers of a named results block (--block NAME; "results" by default). */
  static String begin(String block) {
    return "<!-- bench:" + block + ":begin (written by bench/run.sh) -->";
  }

  static String end(String block) {
    return "<!-- bench:" + block + ":end -->";
  }

  /** Envoy's figures as Istio publishes them (istio.io, Performance and Scalability). */
  static final double ENVOY_VCPU_PER_1K = 0.20;

  static final double ENVOY_MB_PER_1K = 60;
  static final double ISTIO_2SIDECARS_P90_MS = 0.228;
  static final double ISTIO_2SIDECARS_P99_MS = 0.298;

  final Options o;
  final String command;
  Map<String, String> machine = new LinkedHashMap<>();
  final Map<String, String> versions = new LinkedHashMap<>();
  String loadBefore;
  String loadAfter;
  Instant started;
  Instant finished;
  String upstream;
  final List<DataPlane.Row> dataPlane = new ArrayList<>();
  final List<Convergence.Row> convergence = new ArrayList<>();
  Map<String, String> translation;
  Startup.Result startup;
  final List<String> notes = new ArrayList<>();
  final List<String> failures = new ArrayList<>();

  Report(Options o, String command) {
    this.o = o;
    this.command = command;
  }

  void failed(String what, Exception e) {
    StringWriter sw = new StringWriter();
    e.printStackTrace(new PrintWriter(sw));
    Env.say("FAILED %s: %s", what, sw);
    failures.add(what + ": " + e.getMessage());
  }

  String markdown() {
    StringBuilder sb = new StringBuilder();
    sb.append(begin(o.block)).append("\n\n");
    sb.append("### Run of ")
        .append(started)
        .append(o.smoke ? " (smoke: short, figures not meaningful)" : "")
        .append(o.label.isEmpty() ? "" : " - " + o.label)
        .append("\n\n");
    sb.append("- Command: `").append(command).append("`\n");
    sb.append("- Machine: ").append(machine.get("summary")).append('\n');
    sb.append("- Load average (1/5/15 min) before: ")
        .append(loadBefore)
        .append(", after: ")
        .append(loadAfter)
        .append(" (the load generator, upstream and proxies all run on this host)\n");
    sb.append("- Duration: ")
        .append(Duration.between(started, finished).toSeconds())
        .append(" s\n");
    sb.append("- Versions: ");
    List<String> v = new ArrayList<>();
    versions.forEach((k, val) -> v.add(k + " " + val));
    sb.append(String.join(", ", v)).append('\n');
    if (upstream != null) {
      sb.append("- Upstream: ").append(upstream).append('\n');
    }
    if (!dataPlane.isEmpty()) {
      sb.append("- Settings: max throughput with ")
          .append(
              versions.getOrDefault("wrk", "").startsWith("not")
                  ? "the Java closed loop"
                  : "wrk -t" + o.wrkThreads)
          .append(" -c")
          .append(o.connections)
          .append(" -d")
          .append(o.maxSeconds)
          .append("s after ")
          .append(o.warmupSeconds)
          .append(" s warm-up; latency open loop at ")
          .append(o.rate)
          .append(" rps for ")
          .append(o.rateSeconds)
          .append(" s on ")
          .append(o.rateConnections)
          .append(" connections (latency from the scheduled send time)")
          .append(
              o.proxyJvm.isEmpty()
                  ? "; proxy JVM flags as meshctl up sets them"
                  : "; proxy JVM flags `" + String.join(" ", o.proxyJvm) + "`")
          .append('\n');
    }
    sb.append('\n');

    if (!dataPlane.isEmpty()) {
      sb.append("#### Data plane\n\n");
      sb.append("| Path | Hops | Max rps (c=")
          .append(o.connections)
          .append(") | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | ")
          .append("CPU s per 1000 req at ")
          .append(o.rate)
          .append(" rps | CPU s per 1000 req at max | RSS MB | errors |\n");
      sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
      for (DataPlane.Row r : dataPlane) {
        LoadGen.Result f = r.fixed();
        sb.append("| ")
            .append(r.name())
            .append(": ")
            .append(r.path())
            .append(" | ")
            .append(r.hops())
            .append(" | ")
            .append(f0(r.maxRps()))
            .append(" | ")
            .append(f3(f.ms(50)))
            .append(" | ")
            .append(f3(f.ms(90)))
            .append(" | ")
            .append(f3(f.ms(99)))
            .append(" | ")
            .append(f3(f.ms(99.9)))
            .append(" | ")
            .append(f3(f.micros().getMaxValue() / 1000.0))
            .append(" | ")
            .append(r.hops() == 0 ? "-" : f3(r.cpuPer1kAtRate()))
            .append(" | ")
            .append(r.hops() == 0 ? "-" : f3(r.cpuPer1kAtMax()))
            .append(" | ")
            .append(r.rssBytes() < 0 ? "-" : Long.toString(r.rssBytes() >> 20))
            .append(" | ")
            .append(r.maxErrors() + f.errors() + f.timeouts())
            .append(r.note().isEmpty() ? "" : " (" + r.note() + ")")
            .append(" |\n");
      }
      sb.append('\n');
      sb.append(headlines());
    }

    if (!convergence.isEmpty()) {
      sb.append(
          "#### Control plane: convergence (VirtualService file replaced -> last proxy ACKed the new RDS)\n\n");
      sb.append(
              "| Proxies (simulated, real gRPC ADS) | last ACK, median of rounds ms | worst round ms | ")
          .append("median proxy ACK ms | istiod CPU s (all rounds) | istiod RSS MB |\n");
      sb.append("|---:|---:|---:|---:|---:|---:|\n");
      for (Convergence.Row r : convergence) {
        sb.append("| ")
            .append(r.proxies())
            .append(" | ")
            .append(f1(r.lastMedian()))
            .append(" | ")
            .append(f1(r.lastMax()))
            .append(" | ")
            .append(f1(Convergence.median(r.medianAckMs())))
            .append(" | ")
            .append(f2(r.istiodCpuSeconds()))
            .append(" | ")
            .append(r.istiodRssBytes() >> 20)
            .append(" |\n");
      }
      sb.append("\n")
          .append(o.rounds)
          .append(
              " rounds per row; includes istiod's file watch and its 100 ms push "
                  + "debounce (Istio's PILOT_DEBOUNCE_AFTER default).\n\n");
    }

    if (translation != null) {
      Map<String, String> t = translation;
      sb.append("#### Control plane: translation (")
          .append(o.services)
          .append(" services x ")
          .append(o.subsets)
          .append(" subsets, ")
          .append(o.proxies)
          .append(" sidecars; istiod's JVM flags, heap ")
          .append(o.translationHeap)
          .append(")\n\n");
      sb.append("| Measure | Value |\n|---|---:|\n");
      row(
          sb,
          "Config load + validation ("
              + t.get("services")
              + " Services, "
              + t.get("destination_rules")
              + " DRs, "
              + t.get("virtual_services")
              + " VSs)",
          f0(d(t, "load_ms")) + " ms");
      row(sb, "PushContext (indexes)", f0(d(t, "push_context_ms")) + " ms");
      row(
          sb,
          "Resources per sidecar (clusters/endpoints/routes/listeners)",
          t.get("resources_per_proxy"));
      row(
          sb,
          "Full push, all "
              + o.proxies
              + " proxies"
              + (Boolean.parseBoolean(t.get("full_extrapolated"))
                  ? " (extrapolated from "
                      + t.get("full_proxies_done")
                      + " proxies in the time budget)"
                  : ""),
          dur(d(t, "full_ms_all_proxies")));
      row(
          sb,
          "Full push, per proxy (mean / max)",
          f2(d(t, "full_ms_per_proxy")) + " / " + f2(d(t, "full_max_ms_per_proxy")) + " ms");
      row(sb, "Allocated per proxy per push", mb(d(t, "full_allocated_bytes_per_proxy")) + " MB");
      row(sb, "One VS changed: new PushContext", f0(d(t, "one_vs_push_context_ms")) + " ms");
      row(
          sb,
          "One VS changed: push to all proxies"
              + (Boolean.parseBoolean(t.get("one_vs_extrapolated"))
                  ? " (extrapolated from " + t.get("one_vs_proxies_done") + ")"
                  : ""),
          dur(d(t, "one_vs_ms_all_proxies")));
      row(
          sb,
          "One VS changed: proxies whose config changed (of those computed)",
          t.get("one_vs_changed_proxies") + " of " + t.get("one_vs_proxies_done"));
      row(sb, "Config + PushContext retained heap", mb(d(t, "config_heap_bytes")) + " MB");
      row(
          sb,
          "Retained heap per proxy snapshot (serialized size)",
          mb(d(t, "retained_bytes_per_proxy"))
              + " MB ("
              + mb(d(t, "serialized_bytes_per_proxy"))
              + " MB)");
      row(
          sb,
          "Snapshots of all " + o.proxies + " proxies (istiod keeps one per proxy), estimate",
          mb(d(t, "retained_bytes_all_proxies_estimate")) + " MB");
      sb.append('\n');
    }

    if (startup != null) {
      sb.append("#### Start-up\n\n| Measure | Value |\n|---|---:|\n");
      row(
          sb,
          "`meshctl up -d` to the first request routed through the gateway (200 for shop.example.com)",
          f1(startup.firstRoutedSeconds()) + " s");
      row(
          sb,
          "`meshctl up -d` returned (everything ready and in sync)",
          f1(startup.upReturnedSeconds()) + " s");
      sb.append('\n');
    }

    if (!notes.isEmpty() || !failures.isEmpty()) {
      sb.append("#### Notes\n\n");
      notes.forEach(n -> sb.append("- ").append(n).append('\n'));
      failures.forEach(f -> sb.append("- FAILED: ").append(f.replace('\n', ' ')).append('\n'));
      sb.append('\n');
    }
    sb.append(end(o.block)).append('\n');
    return sb.toString();
  }

  private String headlines() {
    Map<String, DataPlane.Row> by = new LinkedHashMap<>();
    dataPlane.forEach(r -> by.put(r.name(), r));
    StringBuilder sb = new StringBuilder("Headline ratios (same run):\n\n");
    DataPlane.Row direct = by.get("direct");
    DataPlane.Row sidecar = by.get("sidecar");
    DataPlane.Row mesh = by.get("mesh");
    DataPlane.Row gw = by.get("gateway");
    for (String peer : List.of("nginx", "haproxy")) {
      DataPlane.Row p = by.get(peer);
      if (p == null) {
        continue;
      }
      for (DataPlane.Row ours : new DataPlane.Row[] {sidecar, gw}) {
        if (ours == null) {
          continue;
        }
        sb.append("- ")
            .append(ours.name())
            .append(" hop vs ")
            .append(peer)
            .append(": max throughput ")
            .append(f2(ours.maxRps() / p.maxRps()))
            .append("x, CPU per request at ")
            .append(o.rate)
            .append(" rps ")
            .append(f2(ours.cpuPer1kAtRate() / p.cpuPer1kAtRate()))
            .append("x, p99 at ")
            .append(o.rate)
            .append(" rps ")
            .append(f2(ours.fixed().ms(99) / p.fixed().ms(99)))
            .append("x, RSS ")
            .append(f1((double) ours.rssBytes() / Math.max(1, p.rssBytes())))
            .append("x\n");
      }
    }
    if (direct != null) {
      for (DataPlane.Row r : dataPlane) {
        if (r == direct) {
          continue;
        }
        sb.append("- added latency vs direct, ")
            .append(r.name())
            .append(" (")
            .append(r.hops())
            .append(" hop")
            .append(r.hops() == 1 ? "" : "s")
            .append("): p50 ")
            .append(sf3(r.fixed().ms(50) - direct.fixed().ms(50)))
            .append(" ms, p90 ")
            .append(sf3(r.fixed().ms(90) - direct.fixed().ms(90)))
            .append(" ms, p99 ")
            .append(sf3(r.fixed().ms(99) - direct.fixed().ms(99)))
            .append(" ms\n");
      }
    }
    sb.append("\nFigures to beat:\n\n");
    sb.append("| | Reference | Here |\n|---|---:|---:|\n");
    if (sidecar != null) {
      sb.append("| Sidecar vCPU per 1000 rps | Envoy (Istio 1.24): ")
          .append(f2(ENVOY_VCPU_PER_1K))
          .append(" | ")
          .append(f3(sidecar.cpuPer1kAtRate()))
          .append(" (sidecar hop at ")
          .append(o.rate)
          .append(" rps) |\n");
      sb.append("| Sidecar memory | Envoy (Istio 1.24): ")
          .append(f0(ENVOY_MB_PER_1K))
          .append(" MB per 1000 rps | ")
          .append(sidecar.rssBytes() >> 20)
          .append(" MB RSS at ")
          .append(o.rate)
          .append(" rps |\n");
    }
    if (mesh != null && direct != null) {
      sb.append("| Two sidecars, added p90 at 1000 rps | Istio 1.20: ")
          .append(f3(ISTIO_2SIDECARS_P90_MS))
          .append(" ms | ")
          .append(sf3(mesh.fixed().ms(90) - direct.fixed().ms(90)))
          .append(" ms |\n");
      sb.append("| Two sidecars, added p99 at 1000 rps | Istio 1.20: ")
          .append(f3(ISTIO_2SIDECARS_P99_MS))
          .append(" ms | ")
          .append(sf3(mesh.fixed().ms(99) - direct.fixed().ms(99)))
          .append(" ms |\n");
    }
    for (String peer : List.of("nginx", "haproxy")) {
      DataPlane.Row p = by.get(peer);
      if (p == null || sidecar == null) {
        continue;
      }
      sb.append("| One hop, CPU s per 1000 req at ")
          .append(o.rate)
          .append(" rps | ")
          .append(peer)
          .append(" (here): ")
          .append(f3(p.cpuPer1kAtRate()))
          .append(" | ")
          .append(f3(sidecar.cpuPer1kAtRate()))
          .append(" |\n");
      sb.append("| One hop, max rps | ")
          .append(peer)
          .append(" (here): ")
          .append(f0(p.maxRps()))
          .append(" | ")
          .append(f0(sidecar.maxRps()))
          .append(" |\n");
    }
    return sb.append('\n').toString();
  }

  /** Replaces the results block of a Markdown file (or appends one); creates the file if needed. */
  static void writeInto(Path file, String block) throws IOException {
    writeInto(file, "results", block);
  }

  static void writeInto(Path file, String name, String block) throws IOException {
    if (file.getParent() != null) {
      Files.createDirectories(file.getParent());
    }
    String text = Files.exists(file) ? Files.readString(file) : "";
    String bm = begin(name);
    String em = end(name);
    int b = text.indexOf(bm);
    int e = text.indexOf(em);
    if (b >= 0 && e > b) {
      text =
          text.substring(0, b)
              + block
              + text.substring(e + em.length() + (text.startsWith("\n", e + em.length()) ? 1 : 0));
    } else {
      text = text + (text.isEmpty() || text.endsWith("\n") ? "" : "\n") + block;
    }
    Files.writeString(file, text);
  }

  private static void row(StringBuilder sb, String k, String v) {
    sb.append("| ").append(k).append(" | ").append(v).append(" |\n");
  }

  private static double d(Map<String, String> m, String k) {
    try {
      return Double.parseDouble(m.get(k));
    } catch (RuntimeException e) {
      return Double.NaN;
    }
  }

  /** Milliseconds as ms below 10 s, else seconds (and minutes when long). */
  static String dur(double ms) {
    if (ms < 10_000) {
      return f0(ms) + " ms";
    }
    return f0(ms / 1000) + " s" + (ms >= 120_000 ? " (" + f1(ms / 60_000) + " min)" : "");
  }

  static String mb(double bytes) {
    return String.format(Locale.ROOT, "%.1f", bytes / 1024 / 1024);
  }

  static String f0(double v) {
    return String.format(Locale.ROOT, "%.0f", v);
  }

  static String f1(double v) {
    return String.format(Locale.ROOT, "%.1f", v);
  }

  static String f2(double v) {
    return String.format(Locale.ROOT, "%.2f", v);
  }

  static String sf3(double v) {
    return String.format(Locale.ROOT, "%+.3f", v);
  }

  static String f3(double v) {
    return String.format(Locale.ROOT, "%.3f", v);
  }
}
