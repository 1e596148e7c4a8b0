package io.shopmesh.mesh.istiod;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.shopmesh.mesh.xds.PodPort;
import io.shopmesh.mesh.xds.WorkloadInstance;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * The registry's source of truth locally and in compose: a JSON file of the planned pods and their
 * readiness, written (temp file + rename) by whoever starts the pods ({@code meshctl up}'s
 * supervisor, or the compose plan). Polled every {@code pollMillis}; a file that does not parse is
 * ignored and the previous list kept.
 *
 * <pre>
 * {"source": "meshctl up: manifests/", "pods": [{"name": "...", "namespace": "default",
 *   "ip": "127.0.1.3", "workload": "product-v1", "labels": {...},
 *   "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
 *   "sidecar": true, "ready": true}]}
 * </pre>
 *
 * <p>Where nobody reports readiness (docker compose: the plan is generated once and passed in
 * {@code REGISTRY_JSON}), a pod may say {@code "probe": {"tcpPort": 8080}} instead of {@code
 * "ready"}: istiod then checks it as a kubelet's tcpSocket probe would, every second.
 */
public final class RegistryFile implements RegistrySource {

  private static final Logger LOG = Logger.getLogger(RegistryFile.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path file;
  private final WorkloadRegistry registry;
  private final Runnable onChange;
  private final long pollMillis;
  private volatile boolean closed;
  private final String inline;
  private String seen = "";
  private List<WorkloadRegistry.Entry> planned = List.of();
  private Map<String, Integer> probes = Map.of();
  private long lastProbe;
  private Thread thread;
  private Consumer<Map<String, String>> tokens = t -> {};

  public RegistryFile(Path file, WorkloadRegistry registry, Runnable onChange, long pollMillis) {
    this(file, null, registry, onChange, pollMillis);
  }

  private RegistryFile(
      Path file, String inline, WorkloadRegistry registry, Runnable onChange, long pollMillis) {
    this.file = file == null ? null : file.toAbsolutePath().normalize();
    this.inline = inline;
    this.registry = registry;
    this.onChange = onChange;
    this.pollMillis = pollMillis;
  }

  /** The registry given as text once (compose: {@code REGISTRY_JSON}); readiness by probes. */
  public static RegistryFile inline(
      String json, WorkloadRegistry registry, Runnable onChange, long pollMillis) {
    return new RegistryFile(null, json, registry, onChange, pollMillis);
  }

  /**
   * Where each pod's {@code "tokenSha256"} goes (pod name.namespace to the hash) whenever the file
   * is read: istiod's {@link XdsAuthenticator}.
   */
  public void onTokens(Consumer<Map<String, String>> tokens) {
    this.tokens = tokens;
  }

  static Map<String, String> tokenHashes(JsonNode root) {
    Map<String, String> out = new LinkedHashMap<>();
    for (JsonNode p : root.path("pods")) {
      String hash = p.path("tokenSha256").asText("");
      if (!hash.isEmpty()) {
        out.put(p.path("name").asText() + "." + p.path("namespace").asText("default"), hash);
      }
    }
    return out;
  }

  /** Reads the file now; true when the registry changed. */
  @Override
  public synchronized boolean read() {
    String text;
    try {
      text = inline != null ? inline : Files.readString(file);
    } catch (NoSuchFileException e) {
      return false;
    } catch (IOException e) {
      LOG.warning("cannot read the registry file " + file + ": " + e.getMessage());
      return false;
    }
    if (text.equals(seen)) {
      return false;
    }
    try {
      JsonNode root = JSON.readTree(text);
      List<WorkloadRegistry.Entry> entries = parse(root);
      probes = probes(root);
      tokens.accept(tokenHashes(root));
      planned = entries;
      entries = probed(entries);
      String source =
          root.path("source").asText("file") + " (" + (file == null ? "REGISTRY_JSON" : file) + ")";
      boolean first = !registry.synced();
      registry.replace(entries, source);
      seen = text;
      long ready = entries.stream().filter(WorkloadRegistry.Entry::ready).count();
      LOG.info(
          (first ? "registry synced from " : "registry updated from ")
              + file
              + ": "
              + entries.size()
              + " pods, "
              + ready
              + " ready");
      return true;
    } catch (IOException | RuntimeException e) {
      LOG.warning("registry file " + file + " does not parse, keeping the last list: " + e);
      return false;
    }
  }

  private static Map<String, Integer> probes(JsonNode root) {
    Map<String, Integer> out = new LinkedHashMap<>();
    for (JsonNode p : root.path("pods")) {
      int port = p.path("probe").path("tcpPort").asInt(0);
      if (port > 0) {
        out.put(p.path("name").asText(), port);
      }
    }
    return out;
  }

  /** The planned entries with the probed pods' readiness as it is now. */
  private List<WorkloadRegistry.Entry> probed(List<WorkloadRegistry.Entry> entries) {
    if (probes.isEmpty()) {
      return entries;
    }
    List<WorkloadRegistry.Entry> out = new ArrayList<>();
    for (WorkloadRegistry.Entry e : entries) {
      Integer port = probes.get(e.workload().podName());
      out.add(
          port == null
              ? e
              : new WorkloadRegistry.Entry(
                  e.workload(), tcp(e.workload().ip(), port), e.serviceAccount()));
    }
    return out;
  }

  private static boolean tcp(String ip, int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(ip, port), 300);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Probes again (at most once a second); true when some readiness changed. */
  private synchronized boolean reprobe() {
    long now = System.currentTimeMillis();
    if (probes.isEmpty() || now - lastProbe < 1000) {
      return false;
    }
    lastProbe = now;
    List<WorkloadRegistry.Entry> next = probed(planned);
    if (next.equals(registry.entries())) {
      return false;
    }
    registry.replace(next, registry.source());
    return true;
  }

  static List<WorkloadRegistry.Entry> parse(JsonNode root) {
    List<WorkloadRegistry.Entry> out = new ArrayList<>();
    for (JsonNode p : root.path("pods")) {
      Map<String, String> labels = new LinkedHashMap<>();
      p.path("labels")
          .fields()
          .forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
      List<PodPort> ports = new ArrayList<>();
      for (JsonNode pp : p.path("ports")) {
        ports.add(
            new PodPort(
                pp.hasNonNull("name") ? pp.get("name").asText() : null,
                pp.path("containerPort").asInt(),
                pp.path("protocol").asText("TCP")));
      }
      WorkloadInstance w =
          new WorkloadInstance(
              p.path("name").asText(),
              p.path("namespace").asText("default"),
              p.path("ip").asText(),
              labels,
              p.path("workload").asText(p.path("name").asText()),
              ports,
              p.path("sidecar").asBoolean(true));
      out.add(
          new WorkloadRegistry.Entry(
              w, p.path("ready").asBoolean(false), p.path("serviceAccount").asText("default")));
    }
    return out;
  }

  @Override
  public String where() {
    return file == null ? "REGISTRY_JSON" : file.toString();
  }

  /** Polls for changes in the background. */
  @Override
  public void start() {
    thread =
        new Thread(
            () -> {
              while (!closed) {
                try {
                  Thread.sleep(pollMillis);
                } catch (InterruptedException e) {
                  return;
                }
                boolean changed = read();
                changed |= reprobe();
                if (changed) {
                  onChange.run();
                }
              }
            },
            "registry-watch");
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  public void close() {
    closed = true;
    if (thread != null) {
      thread.interrupt();
    }
  }
}
