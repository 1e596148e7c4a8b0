package io.shopmesh.bench;

import io.shopmesh.mesh.testing.AdsTestClient;
import io.shopmesh.mesh.xds.PodPort;
import io.shopmesh.mesh.xds.ProxyNode;
import io.shopmesh.mesh.xds.WorkloadInstance;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Convergence: a real istiod on a temporary config directory, N simulated proxies on real gRPC ADS
 * streams; the time from the VirtualService file being replaced to the last proxy having ACKed the
 * new route config. Includes istiod's file watch and its 100 ms push debounce (Istio's
 * PILOT_DEBOUNCE_AFTER), as a user editing the file would see it.
 */
final class Convergence implements AutoCloseable {

  /** One proxy count: per round the time until the last ACK and until the median ACK. */
  record Row(
      int proxies,
      double[] lastAckMs,
      double[] medianAckMs,
      long istiodRssBytes,
      double istiodCpuSeconds) {
    double lastMedian() {
      return median(lastAckMs);
    }

    double lastMax() {
      return Arrays.stream(lastAckMs).max().orElse(Double.NaN);
    }
  }

  private final Env env;
  private final List<AdsTestClient> proxies = new ArrayList<>();
  private final Map<String, String> vars = new LinkedHashMap<>();
  private Process istiod;
  private Path config;
  private int timeout = 30;

  Convergence(Env env) {
    this.env = env;
    vars.put("UPSTREAM_IP", env.ip(20));
    vars.put("UPSTREAM_PORT", "8080");
  }

  void start() throws Exception {
    Path dir = env.work.resolve("controlplane");
    config = dir.resolve("mesh-config");
    Files.createDirectories(config);
    env.render("mesh/upstream.yaml", config.resolve("upstream.yaml"), vars);
    writeVs();
    List<String> argv = env.meshJvm("-Xmx256m", null);
    argv.addAll(
        List.of(
            "io.shopmesh.mesh.istiod.IstiodMain",
            "--config-dir",
            config.toString(),
            "--bind",
            env.ip(2),
            "--xds-port",
            "15010",
            "--http-port",
            "15014"));
    istiod = Procs.start(argv, env.log("istiod-convergence"), null);
    if (!Http.await(() -> Http.ok(env.ip(2), 15014, null, "/ready"), 60_000)) {
      throw new IOException("istiod not ready in 60 s; see " + env.log("istiod-convergence"));
    }
  }

  List<Row> run() throws Exception {
    List<Row> rows = new ArrayList<>();
    for (int n : env.o.proxyCounts) {
      while (proxies.size() < n) {
        int i = proxies.size();
        String ip = "10.99." + (i / 250) + "." + (1 + i % 250);
        WorkloadInstance w =
            new WorkloadInstance(
                "sim-" + i,
                "default",
                ip,
                Map.of("app", "sim-client", "version", "v1"),
                "sim-client",
                List.of(new PodPort("http", 9080, "TCP")),
                true);
        proxies.add(
            new AdsTestClient(env.ip(2), 15010, ProxyNode.sidecar(w).toNode(), Map.of(), false));
      }
      if (!Http.await(() -> proxies.stream().allMatch(AdsTestClient::hasAll), 120_000)) {
        throw new IOException("not all " + n + " simulated proxies got their config in 120 s");
      }
      Thread.sleep(500); // the connect pushes settle
      double[] last = new double[env.o.rounds];
      double[] med = new double[env.o.rounds];
      double cpu0 = Procs.cpuSeconds(istiod.pid());
      for (int r = 0; r < env.o.rounds; r++) {
        List<String> before = proxies.stream().map(p -> p.latest.get("RDS").version()).toList();
        long t0 = System.nanoTime();
        timeout++;
        writeVs();
        boolean all =
            Http.await(
                () -> {
                  for (int i = 0; i < proxies.size(); i++) {
                    AdsTestClient.Received a = proxies.get(i).latest.get("RDS");
                    if (a.version().equals(before.get(i)) || a.nanos() < t0) {
                      return false;
                    }
                  }
                  return true;
                },
                30_000);
        if (!all) {
          throw new IOException(
              "the VirtualService change did not reach all " + n + " proxies in 30 s");
        }
        double[] each =
            proxies.stream()
                .mapToDouble(p -> (p.latest.get("RDS").nanos() - t0) / 1e6)
                .sorted()
                .toArray();
        last[r] = each[each.length - 1];
        med[r] = each[each.length / 2];
        Thread.sleep(300);
      }
      double cpu = Procs.cpuSeconds(istiod.pid()) - cpu0;
      Row row = new Row(n, last, med, Procs.rssBytes(istiod.pid()), cpu);
      Env.say(
          "convergence, %d proxies: last ACK after %.1f ms (median of %d rounds, worst %.1f ms); "
              + "istiod RSS %d MB",
          n, row.lastMedian(), env.o.rounds, row.lastMax(), row.istiodRssBytes() >> 20);
      rows.add(row);
    }
    return rows;
  }

  /**
   * Replaces the VirtualService file in one step (write aside, then rename), as an editor or
   * kubectl would.
   */
  private void writeVs() throws IOException {
    vars.put("TIMEOUT", Integer.toString(timeout));
    Path tmp = env.work.resolve("controlplane").resolve("upstream-vs.yaml.next");
    env.render("mesh/upstream-vs.yaml", tmp, vars);
    Files.move(
        tmp,
        config.resolve("upstream-vs.yaml"),
        StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
  }

  static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length == 0 ? Double.NaN : s[s.length / 2];
  }

  @Override
  public void close() {
    for (AdsTestClient p : proxies) {
      p.close();
    }
    proxies.clear();
    Procs.stop(istiod);
  }
}
