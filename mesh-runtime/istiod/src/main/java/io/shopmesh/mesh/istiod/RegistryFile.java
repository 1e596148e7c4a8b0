package io.shopmesh.mesh.istiod;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.shopmesh.mesh.xds.PodPort;
import io.shopmesh.mesh.xds.WorkloadInstance;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 */
public final class RegistryFile implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(RegistryFile.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path file;
  private final WorkloadRegistry registry;
  private final Runnable onChange;
  private final long pollMillis;
  private volatile boolean closed;
  private String seen = "";
  private Thread thread;

  public RegistryFile(Path file, WorkloadRegistry registry, Runnable onChange, long pollMillis) {
    this.file = file.toAbsolutePath().normalize();
    this.registry = registry;
    this.onChange = onChange;
    this.pollMillis = pollMillis;
  }

  /** Reads the file now; true when the registry changed. */
  public synchronized boolean read() {
    String text;
    try {
      text = Files.readString(file);
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
      String source = root.path("source").asText("file") + " (" + file + ")";
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
      out.add(new WorkloadRegistry.Entry(w, p.path("ready").asBoolean(false)));
    }
    return out;
  }

  public Path file() {
    return file;
  }

  /** Polls for changes in the background. */
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
                if (read()) {
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
