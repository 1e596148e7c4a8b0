package io.shopmesh.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.meshctl.compose.ComposeGenerator;
import io.shopmesh.mesh.meshctl.local.MeshPlan;
import io.shopmesh.mesh.meshctl.prom.PromText;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The docker compose target: the repository's own docker-compose.yml (the one {@code meshctl
 * compose} generates and a test keeps equal to the manifests), brought up under its own project
 * name with a copy of manifests/ as istiod's watched directory, a free gateway port and a free
 * istiod debug port; {@code down -v} afterwards. The images must exist
 * (deploy/docker/build-images.sh).
 *
 * <p>Pods, containers and IPs come from the same generator that wrote the file; the host reaches
 * the containers' IPs on the compose bridge directly (Linux), as it reaches pod IPs locally. System
 * properties: {@code e2e.compose.project} (shopmesh-e2e), {@code e2e.compose.keep=true} leaves the
 * stack running after the suite.
 */
public final class ComposeMeshTarget implements MeshTarget {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path home;
  private final Path work;
  private final Path configDir;
  private final String project;
  private final int gatewayPort;
  private final int istiodPort;
  private final ComposeGenerator generator;
  private final List<String> compose;
  // HTTP/1.1 as Prometheus scrapes (no h2c upgrade on the stats port)
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(2))
          .build();

  public ComposeMeshTarget(Path home, Path work) {
    this.home = home.toAbsolutePath().normalize();
    this.work = work.toAbsolutePath().normalize();
    this.configDir = this.work.resolve("compose-manifests");
    this.project = System.getProperty("e2e.compose.project", "shopmesh-e2e");
    this.gatewayPort = Targets.freePort();
    this.istiodPort = Targets.freePort();
    this.generator =
        new ComposeGenerator(
            new ConfigLoader().load(List.of(this.home.resolve("manifests"))).config(),
            ComposeGenerator.Options.defaults());
    this.compose = composeCommand();
  }

  /** docker compose v2 if the plugin is there, else docker-compose v1. */
  private static List<String> composeCommand() {
    Result v2 =
        Targets.exec(
            Duration.ofSeconds(20), List.of("docker", "compose", "version"), Map.of(), null);
    return v2.ok() ? List.of("docker", "compose") : List.of("docker-compose");
  }

  @Override
  public Path home() {
    return home;
  }

  @Override
  public void start() throws Exception {
    Targets.copyManifests(home, configDir);
    long t0 = System.nanoTime();
    Result up = compose(Duration.ofMinutes(10), "up", "-d");
    System.out.println(up.output());
    if (!up.ok()) {
      throw new IllegalStateException("compose up failed (" + up.exitCode() + "):\n" + up.output());
    }
    awaitReady(Duration.ofMinutes(8));
    System.out.printf(
        "compose: %d pods ready and in sync in %.1f s (gateway 127.0.0.1:%d)%n",
        generator.plan().pods().size(), (System.nanoTime() - t0) / 1e9, gatewayPort);
  }

  @Override
  public void stop() {
    if (Boolean.getBoolean("e2e.compose.keep")) {
      System.out.println("compose: left running (e2e.compose.keep), project " + project);
      return;
    }
    Result r = compose(Duration.ofMinutes(3), "down", "-v", "--remove-orphans", "-t", "5");
    System.out.println(r.output());
  }

  @Override
  public URI gateway() {
    return URI.create("http://127.0.0.1:" + gatewayPort);
  }

  @Override
  public URI paymentProvider() {
    return URI.create("http://" + ip(pod(ComposeGenerator.PAYMENT)) + ":80");
  }

  /** {@code meshctl apply --istiod URL -f FILE}: the same command the docs give for compose. */
  @Override
  public Result apply(Path file) {
    return Targets.exec(
        Duration.ofSeconds(60),
        List.of(
            home.resolve("meshctl").toString(),
            "apply",
            "--istiod",
            "http://127.0.0.1:" + istiodPort,
            "-f",
            file.toAbsolutePath().toString()),
        Map.of(),
        home);
  }

  @Override
  public List<PromText.Sample> scrape() {
    List<PromText.Sample> all = new ArrayList<>();
    for (MeshPlan.Pod p : generator.plan().pods()) {
      if (!p.hasProxy()) {
        continue;
      }
      all.addAll(PromText.parse(get("http://" + ip(p) + ":15090/stats/prometheus")));
    }
    return all;
  }

  @Override
  public Result proxyConfig(String type, String pod, String... args) {
    List<String> argv =
        new ArrayList<>(
            List.of(
                home.resolve("meshctl").toString(),
                "proxy-config",
                type,
                pod,
                "--admin",
                "http://" + ip(pod(pod)) + ":15000"));
    argv.addAll(List.of(args));
    return Targets.exec(Duration.ofSeconds(60), argv, Map.of(), home);
  }

  @Override
  public Result analyze() {
    return Targets.exec(
        Duration.ofSeconds(60),
        List.of(home.resolve("meshctl").toString(), "analyze", configDir.toString()),
        Map.of(),
        home);
  }

  @Override
  public List<Pod> pods() {
    return generator.plan().pods().stream()
        .map(p -> new Pod(p.name(), p.namespace(), p.workload(), p.version()))
        .toList();
  }

  /** docker kill, then docker start: the container crashes and comes back, as under a kubelet. */
  @Override
  public void kill(String pod, String container) {
    String id = containerId(pod, container);
    docker("kill", id);
    docker("start", id);
  }

  @Override
  public void pause(String pod) {
    docker("pause", containerId(pod, null));
  }

  @Override
  public void resume(String pod) {
    docker("unpause", containerId(pod, null));
  }

  /** Every container with a health check healthy, and every proxy in sync (istiod's syncz). */
  @Override
  public void awaitReady(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "";
    int proxies = (int) generator.plan().pods().stream().filter(MeshPlan.Pod::hasProxy).count();
    while (System.nanoTime() < deadline) {
      last = notReady(proxies);
      if (last.isEmpty()) {
        return;
      }
      Thread.sleep(1000);
    }
    throw new IllegalStateException("compose mesh not ready within " + timeout + ": " + last);
  }

  private String notReady(int proxies) {
    Result ids = compose(Duration.ofSeconds(30), "ps", "-q");
    if (!ids.ok() || ids.output().isBlank()) {
      return "no containers: " + ids.output();
    }
    List<String> argv =
        new ArrayList<>(
            List.of(
                "docker",
                "inspect",
                "--format",
                "{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}-{{end}}"));
    argv.addAll(ids.output().lines().map(String::strip).filter(s -> !s.isEmpty()).toList());
    Result st = Targets.exec(Duration.ofSeconds(30), argv, Map.of(), null);
    List<String> waiting =
        st.output()
            .lines()
            .filter(
                l ->
                    !(l.endsWith(" healthy")
                        || l.contains(" exited -")
                        || l.endsWith(" running -")))
            .toList();
    if (!st.ok() || !waiting.isEmpty()) {
      return "waiting for " + waiting;
    }
    try {
      JsonNode sync = JSON.readTree(get("http://127.0.0.1:" + istiodPort + "/debug/syncz"));
      int synced = 0;
      for (JsonNode p : sync) {
        boolean ok = true;
        for (String t : List.of("CDS", "LDS", "RDS", "EDS")) {
          String s = p.path(t).path("status").asText("");
          ok &= !s.equals("STALE") && p.path(t).path("last_nack_error").isNull();
        }
        synced += ok ? 1 : 0;
      }
      return synced >= proxies ? "" : "proxies in sync: " + synced + "/" + proxies;
    } catch (RuntimeException | IOException e) {
      return "istiod syncz: " + e.getMessage();
    }
  }

  private MeshPlan.Pod pod(String name) {
    return generator.plan().pods().stream()
        .filter(
            p ->
                p.name().equals(name)
                    || (name.equals(ComposeGenerator.PAYMENT)
                        && p.kind() == MeshPlan.Kind.EXTERNAL))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no pod " + name));
  }

  private String ip(MeshPlan.Pod p) {
    return generator.ip(p);
  }

  /** The compose service of a pod's container: the app (default) or istio-proxy. */
  private String containerId(String podName, String container) {
    MeshPlan.Pod p = pod(podName);
    String c =
        container != null
            ? container
            : p.containers().stream()
                .filter(x -> x.type() == MeshPlan.ContainerType.APP)
                .findFirst()
                .orElseThrow()
                .name();
    String service =
        p.kind() == MeshPlan.Kind.WORKLOAD
            ? p.name() + "-" + c
            : p.kind() == MeshPlan.Kind.GATEWAY ? "istio-ingressgateway" : ComposeGenerator.PAYMENT;
    Result r = compose(Duration.ofSeconds(30), "ps", "-q", service);
    String id =
        r.output()
            .lines()
            .map(String::strip)
            .filter(s -> s.matches("[0-9a-f]{12,}"))
            .findFirst()
            .orElseThrow(
                () -> new IllegalStateException("no container for " + service + ": " + r.output()));
    return id;
  }

  private void docker(String... args) {
    List<String> argv = new ArrayList<>(List.of("docker"));
    argv.addAll(List.of(args));
    Result r = Targets.exec(Duration.ofSeconds(60), argv, Map.of(), null);
    if (!r.ok()) {
      throw new IllegalStateException(String.join(" ", argv) + ": " + r.output());
    }
  }

  private Result compose(Duration timeout, String... args) {
    List<String> argv = new ArrayList<>(compose);
    argv.addAll(List.of("-f", home.resolve("docker-compose.yml").toString(), "-p", project));
    argv.addAll(List.of(args));
    return Targets.exec(
        timeout,
        argv,
        Map.of(
            "MESH_CONFIG_DIR", configDir.toString(),
            "GATEWAY_PORT", Integer.toString(gatewayPort),
            "ISTIOD_HTTP_PORT", Integer.toString(istiodPort)),
        home);
  }

  private String get(String url) throws UncheckedIOException {
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
              HttpResponse.BodyHandlers.ofString());
      return r.body();
    } catch (IOException e) {
      throw new UncheckedIOException("GET " + url, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
