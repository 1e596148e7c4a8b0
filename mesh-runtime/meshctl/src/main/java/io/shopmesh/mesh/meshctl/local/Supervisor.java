package io.shopmesh.mesh.meshctl.local;

import io.shopmesh.mesh.istiod.XdsAuthenticator;
import io.shopmesh.mesh.meshctl.local.Commands.ProcessSpec;
import io.shopmesh.mesh.meshctl.local.MeshPlan.Kind;
import io.shopmesh.mesh.meshctl.local.MeshPlan.Pod;
import io.shopmesh.mesh.meshctl.local.MeshState.ContainerState;
import io.shopmesh.mesh.meshctl.local.MeshState.Phase;
import io.shopmesh.mesh.meshctl.local.MeshState.PodState;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Runs a {@link MeshPlan} as local processes and keeps them running: starts istiod, then every
 * pod's sidecar and app, waits until all are ready and in sync, restarts a container that exits
 * afterwards (as a kubelet would), records everything in the state file, and stops it all, leaving
 * no process behind.
 */
public final class Supervisor {

  private static final Duration STOP_GRACE = Duration.ofSeconds(8);

  /** One container process and its history. */
  static final class Managed {
    final ProcessSpec spec;
    final Pod pod;
    volatile Process process;
    volatile long startMillis;
    volatile int restarts;
    volatile Integer exitCode;

    Managed(ProcessSpec spec, Pod pod) {
      this.spec = spec;
      this.pod = pod;
    }
  }

  private final MeshPlan plan;
  private final Commands.Layout layout;
  private final Commands commands;
  private final StateStore store;
  private final PrintStream out;
  private final List<Managed> managed = Collections.synchronizedList(new ArrayList<>());
  private final ScheduledExecutorService scheduler =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "meshctl-restarts");
            t.setDaemon(true);
            return t;
          });
  private volatile boolean stopping;
  private volatile boolean ready;
  private volatile String startupFailure;
  private volatile long startedAtMillis;
  private volatile long readyAtMillis;
  private volatile Phase phase = Phase.STARTING;
  private final RegistryWriter registry;
  private FileChannel lockChannel;
  private FileLock lock;

  public Supervisor(MeshPlan plan, Commands.Layout layout, StateStore store, PrintStream out) {
    this.plan = plan;
    this.layout = layout;
    this.commands = new Commands(plan, layout);
    this.store = store;
    this.out = out;
    // one token per pod, issued by whoever starts it (as the kubelet projects a pod's token);
    // istiod gets only the hashes, each proxy its own token in a file only the user can read
    Map<String, String> hashes = new LinkedHashMap<>();
    for (Pod pod : plan.pods()) {
      if (pod.kind() != Kind.EXTERNAL) {
        String token = XdsAuthenticator.newToken();
        tokens.put(pod.name(), token);
        hashes.put(pod.name(), XdsAuthenticator.sha256(token));
      }
    }
    this.registry =
        new RegistryWriter(
            plan,
            layout.registryFile(),
            "meshctl up: the pods planned from " + layout.configDir(),
            hashes);
  }

  private final Map<String, String> tokens = new LinkedHashMap<>();

  /** Takes the state dir's lock for this supervisor's lifetime; false when another one holds it. */
  public boolean lock() {
    try {
      Files.createDirectories(store.dir());
      lockChannel =
          FileChannel.open(
              store.dir().resolve("up.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      lock = lockChannel.tryLock();
      return lock != null;
    } catch (IOException | OverlappingFileLockException e) {
      return false;
    }
  }

  /** A new file only the user can read (tokens). */
  static void writePrivate(Path f, String content) throws IOException {
    Files.createDirectories(f.getParent());
    Files.deleteIfExists(f);
    try {
      Files.createFile(
          f, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      Files.createFile(f);
    }
    Files.writeString(f, content);
  }

  /** Writes the runtime files: directories, the hosts file, the certificates the proxies read. */
  public void prepare() {
    try {
      for (String sub : List.of("logs", "pods")) {
        Path d = store.dir().resolve(sub);
        deleteTree(d);
        Files.createDirectories(d);
      }
      Files.writeString(layout.hostsFile(), commands.hostsFile());
      writePrivate(layout.applyTokenFile(), XdsAuthenticator.newToken());
      for (Map.Entry<String, String> t : tokens.entrySet()) {
        // private: no other local user can read it and pose as this pod
        writePrivate(layout.tokenFile(t.getKey()), t.getValue());
      }
      // kept across runs: the provider re-issues only what is missing, the CA stays the same
      Files.createDirectories(layout.paymentCertsDir());
      if (GatewayCredentials.ensureShopCredential(layout.certsRoot())) {
        out.println(
            "meshctl: made a certificate for "
                + GatewayCredentials.SHOP_HOST
                + " (secret "
                + GatewayCredentials.SHOP_CREDENTIAL
                + "); its CA: "
                + GatewayCredentials.shopCa(layout.certsRoot()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare " + store.dir() + ": " + e.getMessage(), e);
    }
  }

  /**
   * Starts istiod and the services outside the mesh, waits for istiod (and for the payment
   * provider's CA, which the sidecars need for TLS origination), then starts every pod.
   */
  public void start(long startedAt, Duration istiodTimeout) {
    this.startedAtMillis = startedAt;
    // istiod's registry exists before istiod: it serves xDS only once it has read it
    registry.write(Map.of());
    scheduler.scheduleWithFixedDelay(this::updateRegistry, 200, 500, TimeUnit.MILLISECONDS);
    Managed istiod = new Managed(commands.istiod(), null);
    managed.add(istiod);
    launch(istiod);
    boolean provider = false;
    for (Pod pod : plan.pods()) {
      if (pod.kind() == Kind.EXTERNAL) {
        provider |= pod.workload().equals(Planner.PAYMENT_PROVIDER);
        for (ProcessSpec spec : commands.pod(pod)) {
          Managed m = new Managed(spec, pod);
          managed.add(m);
          launch(m);
        }
      }
    }
    writeState();
    long deadline = System.nanoTime() + istiodTimeout.toNanos();
    String istiodReady = "http://" + plan.istiodAddress() + ":" + plan.istiodHttpPort() + "/ready";
    Path ca = layout.paymentCertsDir().resolve("ca.crt");
    boolean overrides = layout.overrides() != null && layout.overrides().containsKey("appMain");
    while (!Http.probe(istiodReady) || (provider && !overrides && !Files.isRegularFile(ca))) {
      if (startupFailure != null) {
        return;
      }
      if (System.nanoTime() > deadline) {
        fail(
            Http.probe(istiodReady)
                ? "the payment provider made no CA at "
                    + ca
                    + " within "
                    + istiodTimeout.toSeconds()
                    + " s; see "
                    + layout.logFile(Planner.PAYMENT_PROVIDER, Planner.PAYMENT_PROVIDER)
                : "istiod was not ready within "
                    + istiodTimeout.toSeconds()
                    + " s; see "
                    + layout.logFile("istiod", istiod.spec.container()));
        return;
      }
      sleep(200);
    }
    for (Pod pod : plan.pods()) {
      if (pod.kind() == Kind.EXTERNAL) {
        continue;
      }
      for (ProcessSpec spec : commands.pod(pod)) {
        Managed m = new Managed(spec, pod);
        managed.add(m);
        launch(m);
      }
    }
    writeState();
  }

  /** Polls until everything is ready and synced, a container fails, or the timeout passes. */
  public boolean awaitReady(Duration timeout, Consumer<String> progress) {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "";
    long lastPrinted = 0;
    while (!stopping) {
      if (startupFailure != null) {
        return false;
      }
      MeshState st = snapshot();
      Probes.Snapshot s = Probes.probe(st);
      if (startupFailure != null) {
        return false;
      }
      if (s.allReady(st)) {
        ready = true;
        readyAtMillis = System.currentTimeMillis();
        phase = Phase.READY;
        writeState();
        return true;
      }
      long proxies = st.pods().stream().filter(PodState::hasProxy).count();
      String line =
          String.format(
              "waiting: %d/%d proxies ready, %d/%d in sync, %d/%d pods up",
              s.count(st, (p, h) -> p.hasProxy() && h.proxyReady()),
              proxies,
              s.count(st, (p, h) -> p.hasProxy() && h.sync() != null && h.sync().synced()),
              proxies,
              s.count(st, (p, h) -> h.running() == h.total() && h.appListening()),
              st.pods().size());
      long now = System.currentTimeMillis();
      if (!line.equals(last) && now - lastPrinted > 3000) {
        progress.accept(line);
        last = line;
        lastPrinted = now;
      }
      if (System.nanoTime() > deadline) {
        fail(
            "not ready within "
                + timeout.toSeconds()
                + " s ("
                + line.substring("waiting: ".length())
                + "); ./meshctl status shows which pod, ./meshctl logs POD why");
        return false;
      }
      sleep(300);
    }
    return false;
  }

  /** A pod is ready when all its containers run, its app listens and its sidecar's inbound does. */
  private void updateRegistry() {
    try {
      Map<String, Boolean> ready = new HashMap<>();
      List<Managed> all;
      synchronized (managed) {
        all = new ArrayList<>(managed);
      }
      for (Pod pod : plan.pods()) {
        if (pod.kind() == Kind.EXTERNAL) {
          continue;
        }
        boolean ok = true;
        int containers = 0;
        for (Managed m : all) {
          if (m.pod == pod) {
            containers++;
            Process p = m.process;
            ok &= p != null && p.isAlive();
          }
        }
        ok &= containers == pod.containers().size();
        if (ok && pod.kind() == Kind.WORKLOAD) {
          for (MeshPlan.PortMapping pm : pod.appPorts()) {
            ok &= Http.listening(pod.ip(), pm.localPort());
          }
          ok &= Http.listening(pod.ip(), 15006);
        } else if (ok) {
          ok = Http.listening(pod.ip(), 15021);
        }
        ready.put(pod.name(), ok);
      }
      registry.write(ready);
    } catch (RuntimeException e) {
      out.println("meshctl: cannot update istiod's registry: " + e.getMessage());
    }
  }

  public String failure() {
    return startupFailure;
  }

  public MeshState state() {
    return snapshot();
  }

  private void fail(String message) {
    if (startupFailure == null) {
      startupFailure = message;
      phase = Phase.FAILED;
      writeState();
    }
  }

  private void launch(Managed m) {
    ProcessSpec spec = m.spec;
    Path log = layout.logFile(spec.pod(), spec.container());
    try {
      Files.createDirectories(log.getParent());
      Files.createDirectories(spec.workDir());
      ProcessBuilder pb =
          new ProcessBuilder(spec.argv())
              .directory(spec.workDir().toFile())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      pb.environment().putAll(spec.env());
      Process p = pb.start();
      m.process = p;
      m.startMillis = StateStore.startMillis(p.toHandle());
      m.exitCode = null;
      p.onExit().thenAccept(done -> exited(m, done));
    } catch (IOException e) {
      fail("cannot start " + spec.container() + " of " + spec.pod() + ": " + e.getMessage());
    }
  }

  private void exited(Managed m, Process p) {
    if (m.process != p) {
      return;
    }
    m.exitCode = p.exitValue();
    if (stopping) {
      return;
    }
    Path log = layout.logFile(m.spec.pod(), m.spec.container());
    if (!ready) {
      fail(
          "container "
              + m.spec.container()
              + " of "
              + m.spec.pod()
              + " exited with code "
              + m.exitCode
              + " while starting; its log ("
              + log
              + ") ends with:\n"
              + tail(log, 15));
      return;
    }
    long delay = Math.min(30, 1L << Math.min(m.restarts, 5));
    out.println(
        "meshctl: container "
            + m.spec.container()
            + " of "
            + m.spec.pod()
            + " exited with code "
            + m.exitCode
            + "; restarting in "
            + delay
            + " s (log: "
            + log
            + ")");
    writeState();
    scheduler.schedule(
        () -> {
          if (!stopping) {
            m.restarts++;
            launch(m);
            writeState();
          }
        },
        delay,
        TimeUnit.SECONDS);
  }

  /** Stops every process: SIGTERM, a grace period, then SIGKILL to it and its descendants. */
  public void stop() {
    synchronized (this) {
      if (stopping) {
        return;
      }
      stopping = true;
    }
    phase = Phase.STOPPING;
    try {
      writeState();
    } catch (RuntimeException ignored) {
      // stopping matters more than the state file
    }
    scheduler.shutdownNow();
    List<Managed> all;
    synchronized (managed) {
      all = new ArrayList<>(managed);
    }
    Collections.reverse(all); // apps and proxies first, istiod last
    List<ProcessHandle> handles = new ArrayList<>();
    for (Managed m : all) {
      Process p = m.process;
      if (p != null && p.isAlive()) {
        p.descendants().forEach(handles::add);
        handles.add(p.toHandle());
        p.destroy();
      }
    }
    long deadline = System.nanoTime() + STOP_GRACE.toNanos();
    for (ProcessHandle h : handles) {
      long left = deadline - System.nanoTime();
      if (left > 0) {
        try {
          h.onExit().get(left, TimeUnit.NANOSECONDS);
        } catch (Exception ignored) {
          // forced below
        }
      }
    }
    for (ProcessHandle h : handles) {
      if (h.isAlive()) {
        h.descendants().forEach(ProcessHandle::destroyForcibly);
        h.destroyForcibly();
      }
    }
    // anything else this JVM started (nothing should be left, but never leave a process behind)
    ProcessHandle.current().descendants().forEach(ProcessHandle::destroyForcibly);
    try {
      store.delete();
    } catch (RuntimeException ignored) {
      // best effort
    }
    try {
      if (lock != null) {
        lock.release();
      }
      if (lockChannel != null) {
        lockChannel.close();
      }
    } catch (IOException ignored) {
      // process exit releases it anyway
    }
  }

  public boolean stopping() {
    return stopping;
  }

  private MeshState snapshot() {
    List<PodState> pods = new ArrayList<>();
    List<Managed> all;
    synchronized (managed) {
      all = new ArrayList<>(managed);
    }
    for (Pod pod : plan.pods()) {
      List<ContainerState> cs = new ArrayList<>();
      for (Managed m : all) {
        if (m.pod == pod) {
          Process p = m.process;
          cs.add(
              new ContainerState(
                  m.spec.container(),
                  p == null ? 0 : p.pid(),
                  m.startMillis,
                  m.restarts,
                  layout.logFile(m.spec.pod(), m.spec.container()).toString(),
                  p != null && p.isAlive(),
                  m.exitCode));
        }
      }
      List<String> ports = new ArrayList<>();
      if (pod.kind() == Kind.GATEWAY) {
        ports.add(
            Planner.GATEWAY_HTTP_PORT
                + "->"
                + plan.gatewayPublishAddress()
                + ":"
                + plan.gatewayPublishPort());
      } else {
        pod.appPorts().forEach(pm -> ports.add(pm.toString()));
      }
      pods.add(
          new PodState(
              pod.name(),
              pod.namespace(),
              pod.kind().name(),
              pod.workload(),
              pod.version(),
              pod.ip(),
              ports,
              cs));
    }
    Managed istiod = all.isEmpty() ? null : all.get(0);
    long now = System.currentTimeMillis();
    ProcessHandle self = ProcessHandle.current();
    List<PodState> withIstiod = new ArrayList<>();
    if (istiod != null && istiod.pod == null) {
      Process p = istiod.process;
      withIstiod.add(
          new PodState(
              "istiod",
              "istio-system",
              "CONTROL_PLANE",
              "istiod",
              "-",
              plan.istiodAddress(),
              List.of(Integer.toString(plan.xdsPort()), Integer.toString(plan.istiodHttpPort())),
              List.of(
                  new ContainerState(
                      istiod.spec.container(),
                      p == null ? 0 : p.pid(),
                      istiod.startMillis,
                      istiod.restarts,
                      layout.logFile("istiod", istiod.spec.container()).toString(),
                      p != null && p.isAlive(),
                      istiod.exitCode))));
    }
    withIstiod.addAll(pods);
    return new MeshState(
        self.pid(),
        StateStore.startMillis(self),
        phase,
        startupFailure,
        startedAtMillis == 0 ? now : startedAtMillis,
        readyAtMillis,
        layout.configDir().toString(),
        plan.istiodAddress(),
        plan.xdsPort(),
        plan.istiodHttpPort(),
        plan.gatewayPublishAddress(),
        plan.gatewayPublishPort(),
        withIstiod);
  }

  private void writeState() {
    if (stopping && phase != Phase.STOPPING) {
      return;
    }
    store.write(snapshot());
  }

  static String tail(Path file, int lines) {
    try (Stream<String> s = Files.lines(file)) {
      List<String> all = s.toList();
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException | UncheckedIOException e) {
      return "(no log)";
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
