package io.shopmesh.mesh.meshctl;

import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.LoadResult;
import io.shopmesh.mesh.meshctl.local.Commands;
import io.shopmesh.mesh.meshctl.local.IpAllocator;
import io.shopmesh.mesh.meshctl.local.MeshHome;
import io.shopmesh.mesh.meshctl.local.MeshPlan;
import io.shopmesh.mesh.meshctl.local.MeshState;
import io.shopmesh.mesh.meshctl.local.Planner;
import io.shopmesh.mesh.meshctl.local.Probes;
import io.shopmesh.mesh.meshctl.local.StateStore;
import io.shopmesh.mesh.meshctl.local.Supervisor;
import io.shopmesh.mesh.meshctl.local.Views;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code meshctl up}: the whole shop on the mesh, as local processes. */
@Command(
    name = "up",
    mixinStandardHelpOptions = true,
    description = {
      "Starts istiod, the ingress gateway, every replica of every Deployment in DIR with its sidecar, and the",
      "payment provider outside the mesh; waits until every proxy is ready and in sync. Ctrl-C stops it all."
    })
public final class UpCommand implements Callable<Integer> {

  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "DIR",
      description =
          "Directory of Kubernetes and Istio YAML (default: manifests/). istiod watches it: edits apply live.")
  Path dir;

  @Option(
      names = {"-d", "--detach"},
      description = "Return once the mesh is ready; ./meshctl down stops it.")
  boolean detach;

  @Option(
      names = "--gateway-port",
      defaultValue = "8080",
      paramLabel = "PORT",
      description =
          "Where the gateway's port 80 is published on 127.0.0.1 (default: ${DEFAULT-VALUE}).")
  int gatewayPort;

  @Option(
      names = "--gateway-https-port",
      defaultValue = "8443",
      paramLabel = "PORT",
      description =
          "Where the gateway's port 443 is published on 127.0.0.1 (default: ${DEFAULT-VALUE}).")
  int gatewayHttpsPort;

  @Option(
      names = "--subnet",
      defaultValue = "127.0.1",
      paramLabel = "A.B.C",
      description = "Loopback /24 the pods get their addresses from (default: ${DEFAULT-VALUE}).")
  String subnet;

  @Option(
      names = "--istiod-address",
      defaultValue = "127.0.0.1",
      paramLabel = "IP",
      description =
          "Address istiod listens on, xDS :15010 and HTTP :15014 (default: ${DEFAULT-VALUE}).")
  String istiodAddress;

  @Option(
      names = "--timeout",
      defaultValue = "300",
      paramLabel = "SECONDS",
      description = "How long to wait for everything to be ready (default: ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  @Option(names = "--no-build", description = "Do not build missing jars; fail instead.")
  boolean noBuild;

  @Option(
      names = "--exit-with",
      paramLabel = "PID",
      defaultValue = "0",
      description =
          "Stop the mesh when process PID exits (for test harnesses: nothing outlives them).")
  long exitWith;

  @Option(
      names = "--no-payment-provider",
      hidden = true,
      description = "Do not start the payment provider.")
  boolean noPaymentProvider;

  @Option(
      names = "--supervise",
      hidden = true,
      description = "Internal: run as the detached supervisor.")
  boolean supervise;

  @Option(names = "--started-at", hidden = true, defaultValue = "0")
  long startedAt;

  @Option(
      names = "--x-runtime",
      hidden = true,
      paramLabel = "KEY=VALUE",
      description =
          "Internal, for tests: istiodMain, proxyMain, appMain (class names), watchdogJar.")
  Map<String, String> runtime = new LinkedHashMap<>();

  @Mixin MeshOptions mesh;

  private final PrintStream out = System.out;
  private final PrintStream err = System.err;

  @Override
  public Integer call() throws Exception {
    long t0 = startedAt > 0 ? startedAt : System.currentTimeMillis();
    Path home = MeshHome.home();
    StateStore store = mesh.store();
    Path configDir = (dir != null ? dir.toAbsolutePath() : home.resolve("manifests")).normalize();

    Optional<MeshState> existing = readQuietly(store);
    if (existing.isPresent()
        && StateStore.alive(
            existing.get().supervisorPid(), existing.get().supervisorStartMillis())) {
      MeshState s = existing.get();
      err.println(
          "meshctl: a mesh is already running here (supervisor pid "
              + s.supervisorPid()
              + ", config "
              + s.configDir()
              + ", gateway "
              + s.gatewayUrl()
              + ").");
      err.println("         ./meshctl status shows it; ./meshctl down stops it.");
      return 1;
    }
    if (existing.isPresent()) {
      int killed = DownCommand.killLeftovers(existing.get());
      store.delete();
      if (killed > 0) {
        err.println(
            "meshctl: cleaned up " + killed + " processes of a mesh whose supervisor had died");
      }
    }
    if (!Files.isDirectory(configDir)) {
      throw new MeshctlException("no such directory: " + configDir);
    }

    LoadResult loaded = new ConfigLoader().load(List.of(configDir));
    for (Diagnostic d : loaded.diagnostics()) {
      if (d.level() == Diagnostic.Level.ERROR) {
        err.println(d.toIstioctlLine());
      }
    }
    if (loaded.config().deployments().isEmpty()) {
      throw new MeshctlException("no Deployment in " + configDir + ": nothing to run");
    }
    Planner.Options opts =
        new Planner.Options(
            subnet,
            istiodAddress,
            15010,
            15014,
            "127.0.0.1",
            gatewayPort,
            gatewayHttpsPort,
            !noPaymentProvider);
    MeshPlan plan;
    try {
      plan = Planner.plan(loaded.config(), opts, new SecureRandom());
    } catch (IllegalArgumentException e) {
      throw new MeshctlException(e.getMessage(), 2);
    }

    if (!supervise) {
      checkAddresses(plan);
      if (!runtime.containsKey("appMain")) {
        build(home, Planner.modules(plan), store.dir());
      }
    }
    if (detach && !supervise) {
      return detach(home, store, configDir, t0);
    }
    return runSupervisor(home, store, configDir, plan, t0);
  }

  private static Optional<MeshState> readQuietly(StateStore store) {
    try {
      return store.read();
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  /** Fails early, with a fix, if the addresses or ports the mesh needs are not available. */
  private void checkAddresses(MeshPlan plan) {
    if (!IpAllocator.bindable(plan.gateway().ip())) {
      throw new MeshctlException(
          "cannot bind "
              + plan.gateway().ip()
              + ": every local pod gets its own loopback "
              + "address. Linux allows all of 127/8; on macOS add aliases first, e.g. "
              + "for i in $(seq 1 40); do sudo ifconfig lo0 alias "
              + plan.subnet()
              + ".$i up; done");
    }
    List<String> busy = new ArrayList<>();
    checkFree(plan.gatewayPublishAddress(), plan.gatewayPublishPort(), "--gateway-port", busy);
    checkFree(
        plan.gatewayPublishAddress(), plan.gatewayHttpsPublishPort(), "--gateway-https-port", busy);
    checkFree(plan.istiodAddress(), plan.xdsPort(), "--istiod-address", busy);
    checkFree(plan.istiodAddress(), plan.istiodHttpPort(), "--istiod-address", busy);
    checkFree(plan.gateway().ip(), 15021, "--subnet", busy);
    if (!busy.isEmpty()) {
      throw new MeshctlException(
          "address in use: "
              + String.join("; ", busy)
              + " (is another mesh running? ./meshctl status)");
    }
  }

  private static void checkFree(String host, int port, String option, List<String> busy) {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress(InetAddress.getByName(host), port));
    } catch (IOException e) {
      busy.add(host + ":" + port + " (change it with " + option + ")");
    }
  }

  /** Builds the modules whose jars are missing, through the Maven wrapper, quietly. */
  private void build(Path home, List<String> modules, Path stateDir)
      throws IOException, InterruptedException {
    Commands.Layout probe =
        new Commands.Layout(home, stateDir, null, null, null, 0, null, List.of(), null);
    List<String> missing =
        modules.stream().filter(m -> !Files.isRegularFile(probe.appJar(m))).toList();
    if (missing.isEmpty()) {
      return;
    }
    if (noBuild) {
      throw new MeshctlException(
          "not built: " + String.join(", ", missing) + " (run ./mvnw package -DskipTests)");
    }
    Path mvnw = home.resolve("mvnw");
    if (!Files.isExecutable(mvnw)) {
      throw new MeshctlException(
          "not built: " + String.join(", ", missing) + ", and no Maven wrapper at " + mvnw);
    }
    Files.createDirectories(stateDir);
    Path log = stateDir.resolve("build.log");
    out.println(
        "meshctl: building "
            + String.join(", ", missing)
            + " (first run; this takes a few minutes, log: "
            + home.relativize(log)
            + ")");
    long t = System.currentTimeMillis();
    Process p =
        new ProcessBuilder(
                mvnw.toString(),
                "-B",
                "-q",
                "-f",
                home.resolve("pom.xml").toString(),
                "package",
                "-DskipTests",
                "-pl",
                String.join(",", missing),
                "-am")
            .directory(home.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    int rc = p.waitFor();
    if (rc != 0) {
      throw new MeshctlException("the build failed (exit " + rc + "); see " + log);
    }
    out.println("meshctl: built in " + Views.seconds(System.currentTimeMillis() - t));
  }

  /** Starts the supervisor in its own session (no terminal) and returns once the mesh is ready. */
  private int detach(Path home, StateStore store, Path configDir, long t0) throws Exception {
    Files.createDirectories(store.dir());
    Path log = store.dir().resolve("meshctl.log");
    List<String> argv = new ArrayList<>();
    if (Files.isExecutable(Path.of("/usr/bin/setsid"))
        || Files.isExecutable(Path.of("/bin/setsid"))) {
      argv.add("setsid");
    }
    argv.addAll(
        List.of(
            MeshHome.javaBin(),
            "-Xmx128m",
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-cp",
            MeshHome.runtimeClasspath(),
            Meshctl.class.getName(),
            "up",
            "--supervise",
            "--started-at",
            Long.toString(t0),
            "--state-dir",
            store.dir().toString(),
            "--gateway-port",
            Integer.toString(gatewayPort),
            "--gateway-https-port",
            Integer.toString(gatewayHttpsPort),
            "--subnet",
            subnet,
            "--istiod-address",
            istiodAddress,
            "--timeout",
            Integer.toString(timeoutSeconds)));
    if (noPaymentProvider) {
      argv.add("--no-payment-provider");
    }
    runtime.forEach((k, v) -> argv.addAll(List.of("--x-runtime", k + "=" + v)));
    if (exitWith > 0) {
      argv.addAll(List.of("--exit-with", Long.toString(exitWith)));
    }
    argv.add(configDir.toString());
    ProcessBuilder pb =
        new ProcessBuilder(argv)
            .directory(home.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.environment().put("MESH_HOME", home.toString());
    Process sup = pb.start();
    // Ctrl-C while waiting: the half-started mesh goes too, nothing is left behind
    Thread abandon =
        new Thread(
            () -> {
              Optional<MeshState> st = readQuietly(store);
              if (sup.isAlive() && (st.isEmpty() || st.get().phase() != MeshState.Phase.READY)) {
                err.println("\nmeshctl: interrupted; stopping the mesh that was starting");
                try {
                  stopSupervisor(sup);
                } catch (InterruptedException ignored) {
                  sup.destroyForcibly();
                }
              }
            },
            "meshctl-abandon");
    Runtime.getRuntime().addShutdownHook(abandon);
    out.println("meshctl: starting the mesh in the background (log: " + log + ")");
    long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds + 60L).toNanos();
    String lastProgress = null;
    while (System.nanoTime() < deadline) {
      Thread.sleep(300);
      Optional<MeshState> st = readQuietly(store);
      if (st.isPresent() && st.get().phase() == MeshState.Phase.READY) {
        printReady(st.get(), Probes.probe(st.get()));
        out.println("Running in the background: ./meshctl down stops it.");
        return 0;
      }
      if (st.isPresent() && st.get().phase() == MeshState.Phase.FAILED) {
        err.println("meshctl: " + st.get().message());
        stopSupervisor(sup);
        return 1;
      }
      if (!sup.isAlive() && (st.isEmpty() || st.get().phase() != MeshState.Phase.READY)) {
        err.println("meshctl: the mesh did not start; " + log + " says:");
        err.println(tail(log, 20));
        return 1;
      }
      String progress = lastLine(log);
      if (progress != null && progress.startsWith("waiting:") && !progress.equals(lastProgress)) {
        out.println(progress);
        lastProgress = progress;
      }
    }
    err.println("meshctl: not ready in time; stopping it");
    stopSupervisor(sup);
    return 1;
  }

  private static void stopSupervisor(Process sup) throws InterruptedException {
    sup.destroy();
    if (!sup.waitFor(20, TimeUnit.SECONDS)) {
      sup.descendants().forEach(ProcessHandle::destroyForcibly);
      sup.destroyForcibly();
    }
  }

  private int runSupervisor(Path home, StateStore store, Path configDir, MeshPlan plan, long t0)
      throws Exception {
    Commands.Layout layout =
        new Commands.Layout(
            home,
            store.dir(),
            MeshHome.javaBin(),
            MeshHome.runtimeClasspath(),
            MeshHome.watchdogJar(runtime.get("watchdogJar")),
            ProcessHandle.current().pid(),
            configDir,
            extraJvmFlags(),
            runtime);
    Supervisor sup = new Supervisor(plan, layout, store, out);
    if (!sup.lock()) {
      err.println(
          "meshctl: a mesh is already starting or running here ("
              + store.dir()
              + "/up.lock is held); "
              + "./meshctl status, ./meshctl down");
      return 1;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  if (!sup.stopping()) {
                    out.println("\nmeshctl: stopping every process...");
                  }
                  sup.stop();
                  stopped.countDown();
                },
                "meshctl-stop"));
    if (exitWith > 0) {
      watch(exitWith);
    }
    sup.prepare();
    long processes = plan.pods().stream().mapToLong(p -> p.containers().size()).sum() + 1;
    long workloads = plan.pods().stream().filter(p -> p.kind() == MeshPlan.Kind.WORKLOAD).count();
    boolean provider = plan.pods().stream().anyMatch(p -> p.kind() == MeshPlan.Kind.EXTERNAL);
    out.println(
        "meshctl: starting istiod, the ingress gateway, "
            + workloads
            + " pods"
            + (provider ? " and the payment provider" : "")
            + " ("
            + processes
            + " processes) from "
            + configDir);
    sup.start(t0, Duration.ofSeconds(Math.min(120, timeoutSeconds)));
    boolean ok =
        sup.failure() == null && sup.awaitReady(Duration.ofSeconds(timeoutSeconds), out::println);
    if (!ok) {
      err.println("meshctl: " + (sup.failure() != null ? sup.failure() : "interrupted"));
      if (supervise) {
        // the detached launcher reads FAILED from the state file, then stops us
        Thread.sleep(5000);
      }
      sup.stop();
      return 1;
    }
    MeshState st = sup.state();
    if (!supervise) {
      printReady(st, Probes.probe(st));
      out.println("Ctrl-C stops everything.");
    } else {
      out.println("meshctl: ready in " + Views.seconds(st.readyAtMillis() - st.startedAtMillis()));
    }
    stopped.await();
    return 0;
  }

  /**
   * Ends this JVM (and so, through the shutdown hook, the mesh) once process {@code pid} is gone.
   */
  private void watch(long pid) {
    Optional<Instant> started = ProcessHandle.of(pid).flatMap(h -> h.info().startInstant());
    Thread t =
        new Thread(
            () -> {
              while (true) {
                Optional<ProcessHandle> h = ProcessHandle.of(pid);
                boolean alive =
                    h.isPresent()
                        && h.get().isAlive()
                        && (started.isEmpty() || h.get().info().startInstant().equals(started));
                if (!alive) {
                  out.println(
                      "meshctl: process " + pid + " (--exit-with) is gone; stopping the mesh");
                  System.exit(0);
                }
                try {
                  Thread.sleep(1000);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "meshctl-exit-with");
    t.setDaemon(true);
    t.start();
  }

  private void printReady(MeshState st, Probes.Snapshot s) {
    out.println();
    out.print(Views.upTable(st, s));
    out.println();
    out.println(
        "Ready in "
            + Views.seconds(st.readyAtMillis() - st.startedAtMillis())
            + " (from ./meshctl up to every proxy ready and in sync).");
    out.println();
    out.print(Views.nextSteps(st));
  }

  private static List<String> extraJvmFlags() {
    String env = System.getenv("MESH_JVM_OPTS");
    return env == null || env.isBlank() ? List.of() : List.of(env.trim().split("\\s+"));
  }

  private static String tail(Path log, int n) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
    } catch (IOException e) {
      return "(no log)";
    }
  }

  private static String lastLine(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return lines.isEmpty() ? null : lines.get(lines.size() - 1);
    } catch (IOException e) {
      return null;
    }
  }
}
