package io.shopmesh.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The data plane rows: one fast upstream, reached directly, through one sidecar hop, through the
 * mesh path (client sidecar to server sidecar), through the gateway, through nginx and through
 * HAProxy. The proxies get their config from a real istiod on a temporary config directory.
 *
 * <p>Addresses (subnet 127.0.77 by default): .1 istiod, .10 gateway, .11 client sidecar, .12 server
 * pod (sidecar + app port), .20 the upstream outside the mesh, .30 nginx, .31 HAProxy.
 */
final class DataPlane implements AutoCloseable {

  static final int UPSTREAM_PORT = 8080;
  static final int PROXY_PORT = 8080;
  static final String MESH_HOST = "upstream:" + UPSTREAM_PORT;
  static final String DIRECT_HOST = "upstream.bench.local:" + UPSTREAM_PORT;
  static final String GATEWAY_HOST = "bench.example.com";

  /** One measured row. */
  record Row(
      String name,
      String path,
      int hops,
      double maxRps,
      long maxRequests,
      long maxErrors,
      double cpuPer1kAtMax,
      LoadGen.Result fixed,
      double cpuPer1kAtRate,
      long rssBytes,
      String note) {}

  /** A way to the upstream and the processes that forward on it (none for the direct call). */
  record Target(String name, String path, int hops, LoadGen.Target target, List<Process> procs) {}

  private final Env env;
  private final List<Process> started = new ArrayList<>();
  private final Map<String, String> vars = new LinkedHashMap<>();
  final Map<String, String> versions = new LinkedHashMap<>();
  final List<String> notes = new ArrayList<>();
  private Process upstream;
  private Process istiod;
  private Process gateway;
  private Process clientSidecar;
  private Process serverSidecar;
  private Process nginx;
  private Process haproxy;
  private String upstreamKind;

  DataPlane(Env env) {
    this.env = env;
    vars.put("PREFIX", env.work.resolve("dataplane").toString());
    vars.put("UPSTREAM_IP", env.ip(20));
    vars.put("UPSTREAM_PORT", Integer.toString(UPSTREAM_PORT));
    vars.put("SERVER_POD_IP", env.ip(12));
    vars.put("NGINX_IP", env.ip(30));
    vars.put("HAPROXY_IP", env.ip(31));
    vars.put("PROXY_PORT", Integer.toString(PROXY_PORT));
    vars.put("TIMEOUT", "30");
  }

  void start() throws Exception {
    Path dir = env.work.resolve("dataplane");
    for (String t : List.of("tmp-upstream", "tmp-proxy")) {
      Files.createDirectories(dir.resolve(t));
    }
    startUpstream(dir);
    startIstiod(dir);
    serverSidecar =
        startProxy(
            "sidecar",
            "bench-server-0",
            "default",
            env.ip(12),
            "app=upstream,version=v1",
            "bench-server",
            Integer.toString(UPSTREAM_PORT));
    clientSidecar =
        startProxy(
            "sidecar",
            "bench-client-0",
            "default",
            env.ip(11),
            "app=bench-client,version=v1",
            "bench-client",
            "9080");
    gateway =
        startProxy(
            "router",
            "istio-ingressgateway-bench-0",
            "istio-system",
            env.ip(10),
            "istio=ingressgateway,app=istio-ingressgateway",
            "istio-ingressgateway",
            "8080,8443");
    for (int ip : List.of(10, 11, 12)) {
      if (!Http.await(() -> Http.ok(env.ip(ip), 15021, null, "/healthz/ready"), 90_000)) {
        throw new IOException(
            "proxy on " + env.ip(ip) + " not ready in 90 s; see " + env.log("proxy-" + env.ip(ip)));
      }
    }
    String nginxExe = Procs.which("nginx");
    if (nginxExe != null) {
      Path conf = env.render("nginx-proxy.conf", dir.resolve("nginx-proxy.conf"), vars);
      nginx = start(List.of(nginxExe, "-p", dir.toString(), "-c", conf.toString()), "nginx-proxy");
    } else {
      notes.add("nginx is not installed: no nginx row (apt-get install -y nginx)");
    }
    String haproxyExe = Procs.which("haproxy");
    if (haproxyExe != null) {
      Path conf = env.render("haproxy.cfg", dir.resolve("haproxy.cfg"), vars);
      haproxy = start(List.of(haproxyExe, "-db", "-f", conf.toString()), "haproxy");
      versions.put(
          "haproxy", firstMatch(Procs.capture(List.of(haproxyExe, "-v"), 5), "version (\\S+)"));
    } else {
      notes.add("HAProxy is not installed: no HAProxy row (apt-get install -y haproxy)");
    }
    for (Target t : targets()) {
      LoadGen.Target lt = t.target();
      if (!Http.await(() -> Http.ok(lt.ip(), lt.port(), lt.hostHeader(), lt.path()), 60_000)) {
        throw new IOException(
            t.name()
                + " does not answer 200 at "
                + lt.url()
                + " (Host "
                + lt.hostHeader()
                + ") within 60 s; logs in "
                + env.work.resolve("logs"));
      }
    }
  }

  List<Target> targets() {
    List<Target> out = new ArrayList<>();
    out.add(
        new Target(
            "direct",
            "client -> upstream",
            0,
            new LoadGen.Target(env.ip(20), UPSTREAM_PORT, DIRECT_HOST, "/"),
            List.of()));
    out.add(
        new Target(
            "sidecar",
            "client -> sidecar :15001 -> upstream",
            1,
            new LoadGen.Target(env.ip(11), 15001, DIRECT_HOST, "/"),
            List.of(clientSidecar)));
    out.add(
        new Target(
            "mesh",
            "client -> sidecar :15001 -> sidecar :15006 -> app",
            2,
            new LoadGen.Target(env.ip(11), 15001, MESH_HOST, "/"),
            List.of(clientSidecar, serverSidecar)));
    out.add(
        new Target(
            "gateway",
            "client -> gateway :8080 -> upstream",
            1,
            new LoadGen.Target(env.ip(10), 8080, GATEWAY_HOST, "/"),
            List.of(gateway)));
    if (nginx != null) {
      out.add(
          new Target(
              "nginx",
              "client -> nginx -> upstream",
              1,
              new LoadGen.Target(env.ip(30), PROXY_PORT, DIRECT_HOST, "/"),
              List.of(nginx)));
    }
    if (haproxy != null) {
      out.add(
          new Target(
              "haproxy",
              "client -> HAProxy -> upstream",
              1,
              new LoadGen.Target(env.ip(31), PROXY_PORT, DIRECT_HOST, "/"),
              List.of(haproxy)));
    }
    return out;
  }

  /** CPU share and RSS of each forwarding process with no traffic, over a few seconds. */
  String idle(double seconds) throws InterruptedException {
    Map<String, Process> procs = new LinkedHashMap<>();
    procs.put("sidecar", clientSidecar);
    procs.put("gateway", gateway);
    if (nginx != null) {
      procs.put("nginx", nginx);
    }
    if (haproxy != null) {
      procs.put("haproxy", haproxy);
    }
    Map<String, Double> c0 = new LinkedHashMap<>();
    procs.forEach((k, p) -> c0.put(k, Procs.cpuSeconds(p.pid())));
    Thread.sleep((long) (seconds * 1000));
    List<String> parts = new ArrayList<>();
    procs.forEach(
        (k, p) ->
            parts.add(
                String.format(
                    Locale.ROOT,
                    "%s %.2f%% CPU, %d MB RSS",
                    k,
                    100 * (Procs.cpuSeconds(p.pid()) - c0.get(k)) / seconds,
                    Procs.rssBytes(p.pid()) >> 20)));
    return "Idle (no traffic, "
        + (int) seconds
        + " s, after start-up): "
        + String.join("; ", parts);
  }

  /**
   * JIT-compiles the harness's own load generator on the direct path before anything is recorded.
   */
  void warmLoadGenerator() throws InterruptedException {
    LoadGen.Target direct = targets().get(0).target();
    try (LoadGen g = new LoadGen(direct, env.o.rateConnections)) {
      g.openLoop(env.o.rate, 0, env.o.warmupSeconds);
      g.closedLoop(env.o.connections, 0, Math.min(3, env.o.warmupSeconds));
    }
  }

  String upstreamKind() {
    return upstreamKind;
  }

  /** Warm-up, maximum throughput (wrk or the closed loop), then the open loop at the fixed rate. */
  Row measure(Target t, Wrk wrk) throws Exception {
    Options o = env.o;
    Env.say("data plane: %s (%s)", t.name(), t.path());
    // warm-up: JIT, connection pools, caches
    if (wrk != null) {
      wrk.run(
          t.target(),
          o.wrkThreads,
          o.connections,
          o.warmupSeconds,
          env.log("wrk-" + t.name() + "-warmup"));
    } else {
      try (LoadGen g = new LoadGen(t.target(), o.connections)) {
        g.closedLoop(o.connections, 0, o.warmupSeconds);
      }
    }
    double maxRps;
    long maxRequests;
    long maxErrors;
    double cpu0 = cpu(t);
    if (wrk != null) {
      Wrk.Result r =
          wrk.run(
              t.target(), o.wrkThreads, o.connections, o.maxSeconds, env.log("wrk-" + t.name()));
      maxRps = r.rps();
      maxRequests = r.requests();
      maxErrors = r.errors();
    } else {
      try (LoadGen g = new LoadGen(t.target(), o.connections)) {
        LoadGen.Result r = g.closedLoop(o.connections, 0, o.maxSeconds);
        maxRps = r.rps();
        maxRequests = r.ok();
        maxErrors = r.errors();
      }
    }
    double cpuMax = cpu(t) - cpu0;
    Env.say(
        "  max %.0f rps at %d connections (%d errors), proxy CPU %.2f s",
        maxRps, o.connections, maxErrors, cpuMax);
    LoadGen.Result fixed;
    double cpuRate;
    AtomicLong rss = new AtomicLong();
    try (LoadGen g = new LoadGen(t.target(), o.rateConnections)) {
      g.openLoop(o.rate, 0, Math.min(3, o.warmupSeconds)); // settle at the rate, not recorded
      ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
      sampler.scheduleAtFixedRate(
          () -> rss.accumulateAndGet(rss(t), Math::max), 0, 250, TimeUnit.MILLISECONDS);
      double c0 = cpu(t);
      fixed = g.openLoop(o.rate, 0, o.rateSeconds);
      cpuRate = cpu(t) - c0;
      sampler.shutdownNow();
      sampler.awaitTermination(2, TimeUnit.SECONDS);
      rss.accumulateAndGet(rss(t), Math::max);
    }
    double cpuPer1kRate = fixed.ok() == 0 ? Double.NaN : cpuRate / (fixed.ok() / 1000.0);
    double cpuPer1kMax = maxRequests == 0 ? Double.NaN : cpuMax / (maxRequests / 1000.0);
    Env.say(
        "  %d rps open loop: p50 %.3f ms p90 %.3f ms p99 %.3f ms (%d ok, %d errors, %d timeouts), "
            + "CPU %.3f s per 1000 requests, RSS %d MB",
        o.rate,
        fixed.ms(50),
        fixed.ms(90),
        fixed.ms(99),
        fixed.ok(),
        fixed.errors(),
        fixed.timeouts(),
        cpuPer1kRate,
        rss.get() >> 20);
    String note = t.procs().size() > 1 ? "CPU and RSS: both sidecars" : "";
    return new Row(
        t.name(),
        t.path(),
        t.hops(),
        maxRps,
        maxRequests,
        maxErrors,
        cpuPer1kMax,
        fixed,
        cpuPer1kRate,
        t.procs().isEmpty() ? -1 : rss.get(),
        note);
  }

  private static double cpu(Target t) {
    double s = 0;
    for (Process p : t.procs()) {
      s += Procs.cpuSeconds(p.pid());
    }
    return s;
  }

  private static long rss(Target t) {
    long s = 0;
    for (Process p : t.procs()) {
      s += Procs.rssBytes(p.pid());
    }
    return s;
  }

  private void startUpstream(Path dir) throws Exception {
    String nginxExe = Procs.which("nginx");
    if (nginxExe != null) {
      Path conf = env.render("nginx-upstream.conf", dir.resolve("nginx-upstream.conf"), vars);
      upstream =
          start(List.of(nginxExe, "-p", dir.toString(), "-c", conf.toString()), "nginx-upstream");
      upstreamKind = "nginx (1 worker, return 200, 20-byte body)";
      versions.put("nginx", firstMatch(Procs.capture(List.of(nginxExe, "-v"), 5), "nginx/(\\S+)"));
    } else {
      List<String> argv =
          new ArrayList<>(
              List.of(
                  env.javaBin,
                  "-Xmx64m",
                  "-XX:+UseSerialGC",
                  "-cp",
                  env.classpath,
                  Upstream.class.getName(),
                  env.ip(20) + ":" + UPSTREAM_PORT,
                  env.ip(12) + ":" + UPSTREAM_PORT));
      upstream = start(argv, "upstream");
      upstreamKind = "Vert.x (1 event loop, 20-byte body; nginx is not installed)";
    }
    String ip = env.ip(20);
    if (!Http.await(() -> Http.ok(ip, UPSTREAM_PORT, null, "/"), 30_000)) {
      throw new IOException("upstream not answering on " + ip + ":" + UPSTREAM_PORT);
    }
  }

  private void startIstiod(Path dir) throws Exception {
    Path config = dir.resolve("mesh-config");
    Files.createDirectories(config);
    env.render("mesh/upstream.yaml", config.resolve("upstream.yaml"), vars);
    env.render("mesh/upstream-vs.yaml", config.resolve("upstream-vs.yaml"), vars);
    List<String> argv = env.meshJvm("-Xmx256m", null);
    argv.addAll(
        List.of(
            "io.shopmesh.mesh.istiod.IstiodMain",
            "--config-dir",
            config.toString(),
            "--bind",
            env.ip(1),
            "--xds-port",
            "15010",
            "--http-port",
            "15014"));
    istiod = start(argv, "istiod");
    if (!Http.await(() -> Http.ok(env.ip(1), 15014, null, "/ready"), 60_000)) {
      throw new IOException("istiod not ready in 60 s; see " + env.log("istiod"));
    }
  }

  private Process startProxy(
      String role, String pod, String ns, String ip, String labels, String workload, String ports)
      throws IOException {
    List<String> argv = env.meshJvm("-Xmx128m", env.o.proxyJvm);
    argv.addAll(
        List.of(
            "io.shopmesh.mesh.proxy.ProxyMain",
            "--role",
            role,
            "--pod-name",
            pod,
            "--namespace",
            ns,
            "--pod-ip",
            ip,
            "--labels",
            labels,
            "--workload-name",
            workload,
            "--ports",
            ports,
            "--istiod",
            env.ip(1) + ":15010",
            "--bind",
            ip,
            "--interception",
            "none",
            "--access-log",
            "off"));
    return start(argv, "proxy-" + ip);
  }

  private Process start(List<String> argv, String name) throws IOException {
    Process p = Procs.start(argv, env.log(name), null);
    started.add(p);
    return p;
  }

  static String firstMatch(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    return m.find() ? m.group(1) : text.lines().findFirst().orElse("?");
  }

  @Override
  public void close() {
    for (int i = started.size() - 1; i >= 0; i--) {
      Procs.stop(started.get(i));
    }
    started.clear();
  }
}
