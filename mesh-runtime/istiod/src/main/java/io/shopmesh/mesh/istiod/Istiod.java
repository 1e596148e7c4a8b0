package io.shopmesh.mesh.istiod;

import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.shopmesh.mesh.config.Diagnostic;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.MeshSettings;
import io.shopmesh.mesh.istiod.ca.CertificateService;
import io.shopmesh.mesh.istiod.ca.IstioCa;
import io.shopmesh.mesh.xds.EnvoyJson;
import io.shopmesh.mesh.xds.PodPort;
import io.shopmesh.mesh.xds.ProxyNode;
import io.shopmesh.mesh.xds.PushContext;
import io.shopmesh.mesh.xds.ServiceRegistry;
import io.shopmesh.mesh.xds.WorkloadInstance;
import io.shopmesh.mesh.xds.XdsGenerator;
import io.shopmesh.mesh.xds.XdsResources;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * mini-istiod: a config source, the last-good config store, the registry of announced workloads,
 * the ADS server and the HTTP debug port, wired with Istio's push debounce.
 */
public final class Istiod implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(Istiod.class.getName());

  /** Istio's PILOT_DEBOUNCE_AFTER and PILOT_DEBOUNCE_MAX. */
  public static final long DEBOUNCE_AFTER_MS = 100;

  public static final long DEBOUNCE_MAX_MS = 10_000;

  private final ConfigSource source;
  private final ConfigStore store;
  private final WorkloadRegistry registry;
  private final RegistrySource registrySource;
  private final AtomicBoolean configDirty = new AtomicBoolean();
  private volatile PushContext pushContext;
  private volatile boolean ready;
  private IstiodMetrics metrics;
  private XdsServer xds;
  private Debouncer debouncer;
  private DebugServer http;
  private Applier applier;
  private int xdsPort;
  private int httpPort;
  private Path caDir;
  private Duration workloadCertTtl = IstioCa.DEFAULT_WORKLOAD_TTL;
  private IstioCa ca;

  public Istiod(ConfigSource source) {
    this(source, null);
  }

  /**
   * @param registryFile the planned pods (see {@link RegistryFile}); null falls back to the pods
   *     that connected proxies announce
   */
  public Istiod(ConfigSource source, Path registryFile) {
    this(source, registryFile, null);
  }

  /**
   * @param registryJson the planned pods as text (compose's {@code REGISTRY_JSON}), used when there
   *     is no registry file
   */
  public Istiod(ConfigSource source, Path registryFile, String registryJson) {
    this(source, registryFile, registryJson, MeshSettings.DEFAULT);
  }

  /**
   * @param mesh the mesh-wide settings ({@code --mesh-config}, Istio's MeshConfig)
   */
  public Istiod(ConfigSource source, Path registryFile, String registryJson, MeshSettings mesh) {
    this.source = source;
    this.store = new ConfigStore(mesh);
    this.pushContext = store.pushContext();
    if (registryFile != null) {
      this.registry = WorkloadRegistry.planned("file " + registryFile);
      this.registrySource =
          new RegistryFile(registryFile, registry, () -> debouncer.trigger(), REGISTRY_POLL_MS);
    } else if (registryJson != null && !registryJson.isBlank()) {
      this.registry = WorkloadRegistry.planned("REGISTRY_JSON");
      this.registrySource =
          RegistryFile.inline(registryJson, registry, () -> debouncer.trigger(), REGISTRY_POLL_MS);
    } else {
      this.registry = new WorkloadRegistry();
      this.registrySource = null;
    }
  }

  /**
   * A registry fed from another source of truth (the Kubernetes API: {@link KubernetesRegistry}).
   *
   * @param registryName what the registry is named until the source has been read
   */
  public Istiod(
      ConfigSource source, String registryName, RegistrySource.Factory registrySourceFactory) {
    this(source, registryName, registrySourceFactory, MeshSettings.DEFAULT);
  }

  /** As above, with the mesh-wide settings ({@code --mesh-config}). */
  public Istiod(
      ConfigSource source,
      String registryName,
      RegistrySource.Factory registrySourceFactory,
      MeshSettings mesh) {
    this.source = source;
    this.store = new ConfigStore(mesh);
    this.pushContext = store.pushContext();
    this.registry = WorkloadRegistry.planned(registryName);
    this.registrySource = registrySourceFactory.create(registry, () -> debouncer.trigger());
  }

  /** A pod no registry has: what istiod translates (and streams to itself) while warming up. */
  private static final WorkloadInstance WARMUP_POD =
      new WorkloadInstance(
          "warmup-0",
          "default",
          "127.0.0.2",
          Map.of("app", "warmup"),
          "warmup",
          List.of(new PodPort("http", 8080, "TCP")),
          true);

  private volatile String applyToken;

  /**
   * The bearer token {@code POST /apply} requires (null: none, as before). Set before {@link
   * #start}.
   */
  public Istiod applyToken(String token) {
    this.applyToken = token == null || token.isBlank() ? null : token.trim();
    return this;
  }

  String applyToken() {
    return applyToken;
  }

  /** How often the registry file is checked for changes. */
  public static final long REGISTRY_POLL_MS = 200;

  /**
   * The CA's files (Istio's {@code cacerts}: loaded when there, else a self-signed root is created
   * there) and the default workload certificate TTL; before {@link #start}. Without a directory the
   * root lives in memory only.
   */
  public Istiod certificateAuthority(Path caDir, Duration workloadCertTtl) {
    this.caDir = caDir;
    this.workloadCertTtl = workloadCertTtl;
    return this;
  }

  /** The CA (after {@link #start}). */
  public IstioCa ca() {
    return ca;
  }

  /** Loads config, starts ADS and HTTP (port 0 picks a free port), then watches for changes. */
  public Istiod start(String bind, int xdsPort, int httpPort) throws IOException {
    reloadConfig();
    metrics = new IstiodMetrics(() -> xds == null ? 0 : xds.connectedProxies());
    metrics.configRejects(store.rejectedTotal());
    debouncer = new Debouncer(DEBOUNCE_AFTER_MS, DEBOUNCE_MAX_MS, this::onDebounced);
    xds = new XdsServer(registry, () -> pushContext, metrics, debouncer::trigger);
    ca = caDir == null ? IstioCa.selfSigned() : IstioCa.loadOrCreate(caDir);
    xds.addService(
        new CertificateService(
                ca,
                registry,
                workloadCertTtl,
                IstioCa.MAX_WORKLOAD_TTL,
                xds.authenticator()::checkNode)
            .definition());
    if (registrySource instanceof RegistryFile file) {
      file.onTokens(xds.authenticator()::replace);
    }
    if (registrySource != null) {
      if (!registrySource.read()) {
        LOG.warning(
            "registry "
                + registrySource.where()
                + " not there yet: xDS streams get UNAVAILABLE until it is");
      }
      registrySource.start();
    }
    warmUp();
    this.xdsPort = xds.start(bind, xdsPort);
    warmUpStream(bind);
    if (source.directory() != null) {
      applier = new Applier(source.directory(), store);
    }
    http = new DebugServer(this);
    this.httpPort = http.start(bind, httpPort);
    source.start(
        () -> {
          configDirty.set(true);
          debouncer.trigger();
        });
    ready = true;
    LOG.info(
        "istiod ready: xDS (ADS) on "
            + bind
            + ":"
            + this.xdsPort
            + ", HTTP on "
            + bind
            + ":"
            + this.httpPort
            + ", config version "
            + store.version()
            + ", CA "
            + ca.source());
    return this;
  }

  /**
   * Runs the load and translation paths a few times before serving, so that the first config change
   * is not slowed by class loading and a cold JIT.
   */
  private void warmUp() {
    long t0 = System.nanoTime();
    for (int i = 0; i < 3; i++) {
      new ConfigStore(store.settings()).update(source.load());
      for (ProxyNode p : List.of(ProxyNode.sidecar(WARMUP_POD), ProxyNode.router(WARMUP_POD))) {
        XdsResources r =
            XdsGenerator.generate(pushContext, new ServiceRegistry(List.of(WARMUP_POD)), p);
        XdsServer.hash(r.clusters());
        XdsServer.hash(r.routes());
      }
    }
    // The proxies that will (re)connect: after a restart all of them do at once. Translated now,
    // they are answered without waiting.
    List<ProxyNode> planned = new ArrayList<>();
    for (WorkloadRegistry.Entry e : registry.entries()) {
      WorkloadInstance w = e.workload();
      if (w.sidecar()) {
        planned.add(ProxyNode.sidecar(w));
      } else if (w.labels().containsKey("istio")) {
        planned.add(ProxyNode.router(w));
      }
    }
    xds.pretranslate(planned);
    LOG.info(
        String.format(
            "warm-up: translation run for %d planned proxies in %d ms",
            planned.size(), (System.nanoTime() - t0) / 1_000_000));
  }

  /** One ADS stream to this istiod's own xDS port, so its first real streams meet a warm path. */
  private void warmUpStream(String bind) {
    long t0 = System.nanoTime();
    String self = bind == null || bind.isEmpty() || bind.equals("0.0.0.0") ? "127.0.0.1" : bind;
    int answered = xds.warmUpStream(self, xdsPort, ProxyNode.sidecar(WARMUP_POD), 5_000);
    LOG.info(
        String.format(
            "warm-up: one ADS stream, %d of 2 answers in %d ms",
            answered, (System.nanoTime() - t0) / 1_000_000));
  }

  private void onDebounced(long firstEventNanos) {
    long t0 = System.nanoTime();
    boolean config = configDirty.getAndSet(false);
    if (config) {
      reloadConfig();
    }
    long t1 = System.nanoTime();
    int pushed = xds.pushAll(firstEventNanos);
    long t2 = System.nanoTime();
    LOG.info(
        String.format(
            "Push debounce stable: %d ms since first change; config reload %d ms, push to %d of %d proxies %d ms",
            (t0 - firstEventNanos) / 1_000_000,
            (t1 - t0) / 1_000_000,
            pushed,
            xds.connectedProxies(),
            (t2 - t1) / 1_000_000));
  }

  private synchronized void reloadConfig() {
    if (store.update(source.load())) {
      pushContext = store.pushContext();
      LOG.info("config version " + store.version());
    }
    if (metrics != null) {
      metrics.configRejects(store.rejectedTotal());
    }
  }

  /**
   * Applies posted YAML so that the answer is the truth: the files are written and the config
   * reloaded under the config lock (a reload sees all of the request or none), the resources must
   * then be served (not rejected, e.g. as duplicates), and the push must be done before {@code
   * deadlineMillis} (wall clock, set by the client); otherwise the files are put back and nothing
   * is applied. A request that arrives after its deadline (istiod was frozen) is not applied at
   * all. After the push, up to {@link #ACK_WAIT_MS} is spent waiting for the proxies' ACKs, which
   * the answer reports.
   */
  Applier.Result apply(String yaml, long deadlineMillis) throws IOException {
    if (applier == null) {
      return Applier.Result.error(405, List.of(NO_APPLY));
    }
    if (System.currentTimeMillis() > deadlineMillis) {
      return Applier.Result.error(504, List.of(DEADLINE_PASSED));
    }
    long t0 = System.nanoTime();
    Applier.Result r;
    List<String> rejected = new ArrayList<>();
    synchronized (this) {
      r = applier.apply(yaml);
      if (!r.ok() || r.previous().isEmpty()) {
        return r;
      }
      reloadConfig();
      for (Diagnostic d : store.currentErrors()) {
        if (d.kind() != null
            && r.keys().contains(d.kind() + "/" + d.namespace() + "/" + d.name())) {
          rejected.add(d.toIstioctlLine());
        }
      }
      if (!rejected.isEmpty() || System.currentTimeMillis() > deadlineMillis) {
        applier.rollback(r);
        reloadConfig();
      }
    }
    if (!rejected.isEmpty()) {
      xds.pushAll(t0);
      rejected.add("Error [SM0001] the store refused the change; nothing was applied");
      return Applier.Result.error(409, rejected);
    }
    if (System.currentTimeMillis() > deadlineMillis) {
      xds.pushAll(t0);
      return Applier.Result.error(504, List.of(DEADLINE_PASSED));
    }
    int pushed = xds.pushAll(t0);
    if (System.currentTimeMillis() > deadlineMillis) {
      // frozen or slow past the client's deadline: it reports failure, so undo
      synchronized (this) {
        applier.rollback(r);
        reloadConfig();
      }
      xds.pushAll(t0);
      return Applier.Result.error(504, List.of(DEADLINE_PASSED));
    }
    long ackDeadline = Math.min(deadlineMillis, System.currentTimeMillis() + ACK_WAIT_MS);
    XdsServer.AckState acks = xds.awaitAcks(ackDeadline);
    List<String> applied = new ArrayList<>(r.applied());
    List<String> notes = new ArrayList<>(r.diagnostics());
    notes.add(
        String.format(
            "Info [SM0006] pushed to %d of %d connected proxies in %d ms; %s",
            pushed, xds.connectedProxies(), (System.nanoTime() - t0) / 1_000_000, acks.describe()));
    return new Applier.Result(true, 200, applied, notes, r.previous(), r.keys());
  }

  /** How long apply waits for the proxies' ACKs after the push (bounded by the deadline). */
  public static final long ACK_WAIT_MS = 5_000;

  static final String NO_APPLY =
      "Error [SM0001] this istiod reads its config from the Kubernetes API, which is where objects"
          + " are applied (kubectl apply); nothing was applied";

  static final String DEADLINE_PASSED =
      "Error [SM0007] the apply's deadline passed before istiod could push it; nothing was applied";

  public int xdsPort() {
    return xdsPort;
  }

  public int httpPort() {
    return httpPort;
  }

  /** Config loaded, both servers listening and the registry synced. */
  public boolean ready() {
    return ready && registry.synced();
  }

  public XdsServer xds() {
    return xds;
  }

  public ConfigStore store() {
    return store;
  }

  public IstiodMetrics metrics() {
    return metrics;
  }

  Map<String, Object> configz() {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("version", store.version());
    out.put("rejected_total", store.rejectedTotal());
    List<String> errors = new ArrayList<>();
    store.currentErrors().forEach(d -> errors.add(d.toIstioctlLine()));
    out.put("errors", errors);
    List<Map<String, Object>> rej = new ArrayList<>();
    for (ConfigStore.Rejection r : store.rejections()) {
      rej.add(Map.of("time", r.time().toString(), "diagnostic", r.diagnostic()));
    }
    out.put("rejections", rej);
    out.put("resources", store.mapResources(this::resource));
    return out;
  }

  private Map<String, Object> resource(Located<?> l) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("kind", l.kind());
    m.put("namespace", l.namespace());
    m.put("name", l.name());
    m.put("source", String.valueOf(l.source()));
    m.put("status", store.isStale(l) ? "LAST_GOOD (newer version rejected)" : "SERVING");
    return m;
  }

  /**
   * One entry per pod; {@code source} says where the registry comes from, {@code ready} if used.
   */
  List<Map<String, Object>> registryz() {
    List<Map<String, Object>> pods = new ArrayList<>();
    for (WorkloadRegistry.Entry e : registry.entries()) {
      WorkloadInstance w = e.workload();
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", w.podName());
      m.put("namespace", w.namespace());
      m.put("ip", w.ip());
      m.put("workload", w.workloadName());
      m.put("labels", w.labels());
      List<Map<String, Object>> ports = new ArrayList<>();
      w.ports()
          .forEach(
              p -> {
                Map<String, Object> pm = new LinkedHashMap<>();
                pm.put("name", p.name());
                pm.put("containerPort", p.containerPort());
                pm.put("protocol", p.protocol());
                ports.add(pm);
              });
      m.put("ports", ports);
      m.put("sidecar", w.sidecar());
      m.put("ready", e.ready());
      if (e.serviceAccount() != null) {
        m.put("serviceAccount", e.serviceAccount());
      }
      m.put("source", registry.source());
      pods.add(m);
    }
    return pods;
  }

  public WorkloadRegistry registry() {
    return registry;
  }

  /** The resources served to one proxy, as JSON keyed by xDS type. */
  String configDump(String proxyId) {
    Snapshot s = xds.snapshot(proxyId);
    if (s == null) {
      return null;
    }
    StringBuilder sb = new StringBuilder("{\n");
    sb.append("\"listeners\": ")
        .append(EnvoyJson.printAll(new ArrayList<>(s.listeners().resources().values())))
        .append(",\n");
    sb.append("\"routes\": ")
        .append(EnvoyJson.printAll(new ArrayList<>(s.routes().resources().values())))
        .append(",\n");
    sb.append("\"clusters\": ")
        .append(EnvoyJson.printAll(new ArrayList<>(s.clusters().resources().values())))
        .append(",\n");
    sb.append("\"endpoints\": ")
        .append(EnvoyJson.printAll(new ArrayList<>(s.endpoints().resources().values())));
    return sb.append("}\n").toString();
  }

  @Override
  public void close() {
    ready = false;
    source.close();
    if (registrySource != null) {
      registrySource.close();
    }
    if (http != null) {
      http.close();
    }
    if (xds != null) {
      xds.close();
    }
    if (debouncer != null) {
      debouncer.close();
    }
  }
}
