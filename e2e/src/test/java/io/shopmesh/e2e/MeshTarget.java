package io.shopmesh.e2e;

import io.shopmesh.mesh.meshctl.prom.PromText;
import io.shopmesh.mesh.meshctl.prom.Selector;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A running shop mesh the walkthrough's tests drive. One interface, several targets: the local
 * processes of {@code ./meshctl up} ({@link LocalMeshTarget}); docker compose and a kind cluster
 * implement the same methods.
 */
public interface MeshTarget extends AutoCloseable {

  /** A pod as the tests need to know it. */
  record Pod(String name, String namespace, String workload, String version) {}

  /** What {@code apply} answered: exit code and the command's output (stdout and stderr). */
  record Result(int exitCode, String output) {
    public boolean ok() {
      return exitCode == 0;
    }
  }

  /** Starts the mesh and returns once every proxy is ready and in sync. */
  void start() throws Exception;

  /** Stops it; nothing may be left running. */
  void stop();

  @Override
  default void close() {
    stop();
  }

  /** Where the ingress gateway's port 80 is reachable, e.g. http://127.0.0.1:8080. */
  URI gateway();

  /** The payment provider's own API, outside the mesh (for its /admin endpoints). */
  URI paymentProvider();

  /** Applies Istio YAML as {@code kubectl apply -f} / {@code meshctl apply -f} would. */
  Result apply(Path file);

  /** Every proxy's Istio metrics (their :15090/stats/prometheus), as one Prometheus scrape. */
  List<PromText.Sample> scrape();

  /** The sum of a PromQL selector over every proxy's metrics, as Prometheus would give it. */
  default double metric(String selector) {
    return Selector.parse(selector).sum(scrape());
  }

  /** {@code sum by (label) (selector)}. */
  default Map<String, Double> metricBy(String selector, String label) {
    Map<String, Double> out = new LinkedHashMap<>();
    Selector.parse(selector)
        .sumBy(scrape(), List.of(label))
        .forEach((k, v) -> out.put(k.get(0), v));
    return out;
  }

  /**
   * {@code proxy-config TYPE POD [args]} output, e.g. ("routes", pod, "--name", "8080", "-o",
   * "json").
   */
  Result proxyConfig(String type, String pod, String... args);

  /** {@code analyze} of the running config. */
  Result analyze();

  List<Pod> pods();

  /** Kills one container of a pod (a crash); the platform restarts it, as a kubelet would. */
  void kill(String pod, String container);

  /**
   * Freezes / thaws a pod's app container (SIGSTOP / docker pause): it accepts but never answers.
   */
  void pause(String pod);

  void resume(String pod);

  /** Waits until every pod is ready and every proxy in sync again. */
  void awaitReady(Duration timeout) throws InterruptedException;

  /** Where the repository is: manifests and their variants. */
  Path home();
}
