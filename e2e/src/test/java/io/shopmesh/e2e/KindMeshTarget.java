package io.shopmesh.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.shopmesh.mesh.meshctl.prom.PromText;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A kind cluster ({@code -De2e.target=kind}) made by deploy/kind/up.sh, under this mesh ({@code
 * -De2e.mesh=shopmesh}, the default) or under real Istio ({@code -De2e.mesh=istio}) with the same
 * manifests. Everything goes through the cluster's own tools, as a user would: {@code kubectl} (API
 * server proxy for the proxies' stats, port-forward for the payment provider and a proxy's admin
 * port), {@code istioctl} under Istio, and the kind node's container runtime ({@code crictl},
 * {@code ctr}) to crash or freeze one container as the tests need.
 *
 * <p>System properties: {@code e2e.kind.cluster} (shopmesh), {@code e2e.kind.reuse=true} uses a
 * cluster up.sh already set up, {@code e2e.kind.keep=true} leaves it after the suite.
 */
public final class KindMeshTarget implements MeshTarget {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration KUBECTL = Duration.ofSeconds(60);

  private final Path home;
  private final Path work;
  private final String mesh;
  private final String cluster;
  private final List<Process> forwards = new ArrayList<>();
  private int paymentPort;

  public KindMeshTarget(Path home, Path work) {
    this.home = home.toAbsolutePath().normalize();
    this.work = work.toAbsolutePath().normalize();
    this.mesh = System.getProperty("e2e.mesh", "shopmesh");
    if (!mesh.equals("shopmesh") && !mesh.equals("istio")) {
      throw new IllegalArgumentException("unknown e2e.mesh '" + mesh + "' (shopmesh, istio)");
    }
    this.cluster = System.getProperty("e2e.kind.cluster", "shopmesh");
  }

  private boolean istio() {
    return mesh.equals("istio");
  }

  @Override
  public Path home() {
    return home;
  }

  @Override
  public void start() throws Exception {
    Files.createDirectories(work);
    if (!Boolean.getBoolean("e2e.kind.reuse")) {
      List<String> up = new ArrayList<>(List.of(home.resolve("deploy/kind/up.sh").toString()));
      if (istio()) {
        up.add("--istio");
      }
      Result r = Targets.exec(Duration.ofMinutes(40), up, Map.of("KIND_CLUSTER", cluster), home);
      System.out.println(r.output());
      if (!r.ok()) {
        throw new IllegalStateException("deploy/kind/up.sh failed (" + r.exitCode() + ")");
      }
    }
    awaitReady(Duration.ofMinutes(10));
    paymentPort = Targets.freePort();
    forward("payment-provider", "svc/payment-provider", paymentPort, 80);
    System.out.printf("kind: cluster %s under %s, %d pods%n", cluster, mesh, pods().size());
  }

  @Override
  public void stop() {
    forwards.forEach(Process::destroy);
    forwards.clear();
    if (Boolean.getBoolean("e2e.kind.keep") || Boolean.getBoolean("e2e.kind.reuse")) {
      System.out.println("kind: cluster " + cluster + " left running");
      return;
    }
    Result r =
        Targets.exec(
            Duration.ofMinutes(5),
            List.of(home.resolve("deploy/kind/down.sh").toString()),
            Map.of("KIND_CLUSTER", cluster),
            home);
    System.out.println(r.output());
  }

  /** kind-config.yaml publishes the gateway's NodePort on the host's 8080. */
  @Override
  public URI gateway() {
    return URI.create("http://127.0.0.1:8080");
  }

  @Override
  public URI paymentProvider() {
    return URI.create("http://127.0.0.1:" + paymentPort);
  }

  /** {@code kubectl apply -f}: the API server, the CRD schema and the validating webhook decide. */
  @Override
  public Result apply(Path file) {
    return kubectl("apply", "-n", "default", "-f", file.toAbsolutePath().toString());
  }

  /** Every proxy's :15090/stats/prometheus, through the API server's pod proxy. */
  @Override
  public List<PromText.Sample> scrape() {
    List<PromText.Sample> all = new ArrayList<>();
    for (JsonNode p : podList()) {
      if (!hasProxy(p)) {
        continue;
      }
      String ns = p.path("metadata").path("namespace").asText();
      String name = p.path("metadata").path("name").asText();
      Result r =
          kubectl(
              "get",
              "--raw",
              "/api/v1/namespaces/" + ns + "/pods/" + name + ":15090/proxy/stats/prometheus");
      if (r.ok()) {
        all.addAll(PromText.parse(r.output()));
      }
    }
    return all;
  }

  /**
   * istioctl proxy-config under Istio; this mesh's {@code meshctl proxy-config} against the pod's
   * admin port, port-forwarded, otherwise (the same arguments and output).
   */
  @Override
  public Result proxyConfig(String type, String pod, String... args) {
    String ns = namespaceOf(pod);
    if (istio()) {
      List<String> argv =
          new ArrayList<>(
              List.of("istioctl", "--context", context(), "proxy-config", type, pod + "." + ns));
      argv.addAll(List.of(args));
      return Targets.exec(KUBECTL, argv, Map.of(), home);
    }
    int local = Targets.freePort();
    Process fwd = forward(ns, "pod/" + pod, local, 15000);
    try {
      List<String> argv =
          new ArrayList<>(
              List.of(
                  home.resolve("meshctl").toString(),
                  "proxy-config",
                  type,
                  pod,
                  "--admin",
                  "http://127.0.0.1:" + local));
      argv.addAll(List.of(args));
      return Targets.exec(KUBECTL, argv, Map.of(), home);
    } finally {
      fwd.destroy();
      forwards.remove(fwd);
    }
  }

  /** istioctl analyze on the cluster; this mesh's analyzer on what the cluster holds. */
  @Override
  public Result analyze() {
    if (istio()) {
      return Targets.exec(
          KUBECTL,
          List.of("istioctl", "--context", context(), "analyze", "-n", "default"),
          Map.of(),
          home);
    }
    Result dump =
        kubectl(
            "get",
            "-n",
            "default",
            "virtualservices.networking.istio.io,destinationrules.networking.istio.io,"
                + "gateways.networking.istio.io,serviceentries.networking.istio.io,"
                + "services,deployments",
            "-o",
            "yaml");
    if (!dump.ok()) {
      return dump;
    }
    try {
      Path file = work.resolve("kind-cluster-config.yaml");
      Files.writeString(file, dump.output());
      return Targets.exec(
          KUBECTL,
          List.of(home.resolve("meshctl").toString(), "analyze", file.toString()),
          Map.of(),
          home);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public List<Pod> pods() {
    List<Pod> out = new ArrayList<>();
    for (JsonNode p : podList()) {
      JsonNode meta = p.path("metadata");
      String hash = meta.path("labels").path("pod-template-hash").asText("");
      String owner = meta.path("ownerReferences").path(0).path("name").asText("");
      String workload =
          !hash.isEmpty() && owner.endsWith("-" + hash)
              ? owner.substring(0, owner.length() - hash.length() - 1)
              : owner;
      out.add(
          new Pod(
              meta.path("name").asText(),
              meta.path("namespace").asText(),
              workload,
              meta.path("labels").path("version").asText(null)));
    }
    return out;
  }

  /** The shop's pods, the ingress gateway and the payment provider. */
  private List<JsonNode> podList() {
    List<JsonNode> out = new ArrayList<>();
    for (String[] q :
        List.of(
            new String[] {"default", ""},
            new String[] {"istio-system", "istio=ingressgateway"},
            new String[] {"payment-provider", ""})) {
      List<String> argv = new ArrayList<>(List.of("get", "pods", "-n", q[0], "-o", "json"));
      if (!q[1].isEmpty()) {
        argv.addAll(List.of("-l", q[1]));
      }
      Result r = kubectl(argv.toArray(String[]::new));
      if (!r.ok()) {
        throw new IllegalStateException("kubectl get pods: " + r.output());
      }
      try {
        for (JsonNode item : JSON.readTree(r.output()).path("items")) {
          if (item.path("metadata").path("deletionTimestamp").isMissingNode()) {
            out.add(item);
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return out;
  }

  private static boolean hasProxy(JsonNode pod) {
    for (JsonNode c : pod.path("spec").path("containers")) {
      if (c.path("name").asText().equals("istio-proxy")) {
        return true;
      }
    }
    return false;
  }

  private String namespaceOf(String pod) {
    return pods().stream()
        .filter(p -> p.name().equals(pod))
        .map(Pod::namespace)
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no pod " + pod));
  }

  /** The container is stopped at once (SIGKILL after no grace); the kubelet starts it again. */
  @Override
  public void kill(String pod, String container) {
    node("crictl", "stop", "--timeout", "0", containerId(pod, container));
  }

  @Override
  public void pause(String pod) {
    node("ctr", "-n", "k8s.io", "task", "pause", containerId(pod, null));
  }

  @Override
  public void resume(String pod) {
    node("ctr", "-n", "k8s.io", "task", "resume", containerId(pod, null));
  }

  /** The app container by default: the first container that is not the sidecar. */
  private String containerId(String pod, String container) {
    String name = container;
    if (name == null) {
      for (JsonNode p : podList()) {
        if (p.path("metadata").path("name").asText().equals(pod)) {
          for (JsonNode c : p.path("spec").path("containers")) {
            if (!c.path("name").asText().equals("istio-proxy")) {
              name = c.path("name").asText();
              break;
            }
          }
        }
      }
    }
    Result r =
        node(
            "crictl",
            "ps",
            "-q",
            "--no-trunc",
            "--name",
            "^" + name + "$",
            "--label",
            "io.kubernetes.pod.name=" + pod);
    return r.output()
        .lines()
        .map(String::strip)
        .filter(s -> s.matches("[0-9a-f]{12,}"))
        .findFirst()
        .orElseThrow(() -> new IllegalStateException("no container " + pod + "/" + container));
  }

  /** Every pod Ready, and every proxy in sync (istiod's syncz, or istioctl proxy-status). */
  @Override
  public void awaitReady(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      last = notReady();
      if (last.isEmpty()) {
        return;
      }
      Thread.sleep(2000);
    }
    throw new IllegalStateException("kind mesh not ready within " + timeout + ": " + last);
  }

  private String notReady() {
    List<JsonNode> pods = podList();
    List<String> waiting = new ArrayList<>();
    int proxies = 0;
    for (JsonNode p : pods) {
      boolean ready = false;
      for (JsonNode c : p.path("status").path("conditions")) {
        ready |=
            c.path("type").asText().equals("Ready") && c.path("status").asText().equals("True");
      }
      if (!ready) {
        waiting.add(p.path("metadata").path("name").asText());
      }
      proxies += hasProxy(p) || p.path("metadata").path("labels").has("istio") ? 1 : 0;
    }
    if (!waiting.isEmpty()) {
      return "pods not ready: " + waiting;
    }
    int synced;
    if (istio()) {
      Result st =
          Targets.exec(
              KUBECTL, List.of("istioctl", "--context", context(), "proxy-status"), Map.of(), home);
      if (!st.ok()) {
        return "istioctl proxy-status: " + st.output();
      }
      synced =
          (int)
              st.output().lines().skip(1).filter(l -> !l.isBlank() && !l.contains("STALE")).count();
    } else {
      Result st =
          kubectl(
              "get",
              "--raw",
              "/api/v1/namespaces/istio-system/services/istiod:15014/proxy/debug/syncz");
      if (!st.ok()) {
        return "istiod syncz: " + st.output();
      }
      try {
        synced = 0;
        for (JsonNode p : JSON.readTree(st.output())) {
          boolean ok = true;
          for (String t : List.of("CDS", "LDS", "RDS", "EDS")) {
            ok &= !p.path(t).path("status").asText("").equals("STALE");
          }
          synced += ok ? 1 : 0;
        }
      } catch (IOException e) {
        return "istiod syncz: " + e.getMessage();
      }
    }
    return synced >= proxies ? "" : "proxies in sync: " + synced + "/" + proxies;
  }

  private String context() {
    return "kind-" + cluster;
  }

  private Result kubectl(String... args) {
    List<String> argv = new ArrayList<>(List.of("kubectl", "--context", context()));
    argv.addAll(List.of(args));
    return Targets.exec(KUBECTL, argv, Map.of(), home);
  }

  /** A command in the kind node's container (its container runtime's CLIs). */
  private Result node(String... args) {
    List<String> argv = new ArrayList<>(List.of("docker", "exec", cluster + "-control-plane"));
    argv.addAll(List.of(args));
    Result r = Targets.exec(KUBECTL, argv, Map.of(), home);
    if (!r.ok()) {
      throw new IllegalStateException(String.join(" ", argv) + ": " + r.output());
    }
    return r;
  }

  /** {@code kubectl port-forward}, left running until stop() (or the caller destroys it). */
  private Process forward(String namespace, String target, int local, int remote) {
    try {
      Process p =
          new ProcessBuilder(
                  "kubectl",
                  "--context",
                  context(),
                  "-n",
                  namespace,
                  "port-forward",
                  target,
                  local + ":" + remote)
              .redirectErrorStream(true)
              .redirectOutput(work.resolve("port-forward-" + local + ".log").toFile())
              .start();
      forwards.add(p);
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (System.nanoTime() < deadline) {
        try (Socket s = new Socket("127.0.0.1", local)) {
          return p;
        } catch (IOException notYet) {
          Thread.sleep(200);
        }
      }
      throw new IllegalStateException("port-forward " + target + " did not open " + local);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
