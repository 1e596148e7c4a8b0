package io.shopmesh.e2e;

import io.shopmesh.mesh.meshctl.local.MeshState;
import io.shopmesh.mesh.meshctl.local.StateStore;
import io.shopmesh.mesh.meshctl.prom.PromText;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The local target: {@code ./meshctl up -d} once for the suite and {@code ./meshctl down} after it.
 * It runs beside anybody's own mesh: its own state dir, its own loopback /24, its own istiod
 * address and a free gateway port, and its own copy of manifests/ (apply writes into the watched
 * directory; the repository's files stay as they are).
 */
public final class LocalMeshTarget implements MeshTarget {

  private final Path home;
  private final Path work;
  private final Path stateDir;
  private final Path configDir;
  private final String subnet;
  private final int gatewayPort;
  private final int gatewayHttpsPort;
  // HTTP/1.1, as Prometheus scrapes: no h2c upgrade attempt on the proxies' stats port
  private final HttpClient http =
      HttpClient.newBuilder()
          .connectTimeout(Duration.ofSeconds(2))
          .version(HttpClient.Version.HTTP_1_1)
          .build();

  public LocalMeshTarget(Path home, Path work) {
    this.home = home.toAbsolutePath().normalize();
    this.work = work.toAbsolutePath().normalize();
    this.stateDir = this.work.resolve("mesh");
    this.configDir = this.work.resolve("manifests");
    this.subnet = freeSubnet();
    this.gatewayPort = Targets.freePort();
    this.gatewayHttpsPort = Targets.freePort();
  }

  /**
   * A loopback /24 nobody else's mesh (or test) uses right now: its istiod and gateway ports are
   * free.
   */
  private static String freeSubnet() {
    for (int i = 0; i < 50; i++) {
      String s = "127.0." + ThreadLocalRandom.current().nextInt(100, 200);
      if (free(s + ".250", 15010)
          && free(s + ".250", 15014)
          && free(s + ".1", 15021)
          && free(s + ".11", 15000)) {
        return s;
      }
    }
    throw new IllegalStateException("no free loopback subnet in 127.0.100-199");
  }

  private static boolean free(String host, int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress(host, port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public Path home() {
    return home;
  }

  /** The directory istiod watches (this target's copy of manifests/). */
  public Path configDir() {
    return configDir;
  }

  /** istiod's HTTP port (debug endpoints, /ready, /apply). */
  public URI istiodHttp() {
    return URI.create("http://" + subnet + ".250:15014");
  }

  /** istiod's xDS (ADS) address, host and port. */
  public InetSocketAddress istiodXds() {
    return new InetSocketAddress(subnet + ".250", 15010);
  }

  /** {@code meshctl ARGS} against this mesh, bounded in time. */
  public Result run(Duration timeout, String... args) {
    return meshctl(timeout, args);
  }

  @Override
  public void start() throws Exception {
    Targets.copyManifests(home, configDir);
    Result r =
        meshctl(
            Duration.ofMinutes(12),
            "up",
            "-d",
            configDir.toString(),
            "--subnet",
            subnet,
            "--istiod-address",
            subnet + ".250",
            "--gateway-port",
            Integer.toString(gatewayPort),
            "--gateway-https-port",
            Integer.toString(gatewayHttpsPort),
            "--timeout",
            "420",
            // if this JVM dies (even kill -9), the mesh stops too
            "--exit-with",
            Long.toString(ProcessHandle.current().pid()));
    System.out.println(r.output());
    if (!r.ok()) {
      throw new IllegalStateException("meshctl up failed (" + r.exitCode() + "):\n" + r.output());
    }
  }

  @Override
  public void stop() {
    Result r = meshctl(Duration.ofMinutes(2), "down");
    System.out.println(r.output());
  }

  /** Where the gateway's port 443 (listener 8443) is published: host and port. */
  public InetSocketAddress gatewayHttps() {
    return new InetSocketAddress("127.0.0.1", gatewayHttpsPort);
  }

  /** The CA of the certificate meshctl up made for shop.example.com (secret shop-credential). */
  public Path shopCa() {
    return stateDir.resolve("certs/shop-ca/ca.crt");
  }

  @Override
  public URI gateway() {
    return URI.create("http://127.0.0.1:" + gatewayPort);
  }

  @Override
  public URI paymentProvider() {
    return URI.create("http://" + subnet + ".2:10080");
  }

  @Override
  public Result apply(Path file) {
    return meshctl(Duration.ofSeconds(60), "apply", "-f", file.toAbsolutePath().toString());
  }

  /** Every proxy's /stats/prometheus, as a Prometheus scrape of the mesh would collect them. */
  @Override
  public List<PromText.Sample> scrape() {
    List<PromText.Sample> all = new ArrayList<>();
    for (MeshState.PodState p : state().pods()) {
      if (!p.hasProxy()) {
        continue;
      }
      try {
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(URI.create("http://" + p.ip() + ":15090/stats/prometheus"))
                    .timeout(Duration.ofSeconds(5))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        all.addAll(PromText.parse(r.body()));
      } catch (IOException e) {
        throw new UncheckedIOException("scraping " + p.name(), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    return all;
  }

  @Override
  public Result proxyConfig(String type, String pod, String... args) {
    List<String> argv = new ArrayList<>(List.of("proxy-config", type, pod));
    argv.addAll(List.of(args));
    return meshctl(Duration.ofSeconds(60), argv.toArray(String[]::new));
  }

  @Override
  public Result analyze() {
    return run(Duration.ofSeconds(60), List.of("analyze", configDir.toString()));
  }

  @Override
  public List<Pod> pods() {
    return state().pods().stream()
        .map(p -> new Pod(p.name(), p.namespace(), p.workload(), p.version()))
        .toList();
  }

  @Override
  public void kill(String pod, String container) {
    MeshState.ContainerState c = container(pod, container);
    ProcessHandle.of(c.pid()).ifPresent(ProcessHandle::destroyForcibly);
  }

  @Override
  public void pause(String pod) {
    signal(pod, "STOP");
  }

  @Override
  public void resume(String pod) {
    signal(pod, "CONT");
  }

  private void signal(String pod, String sig) {
    MeshState.ContainerState c = state().pod(pod).orElseThrow().defaultContainer();
    try {
      Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(c.pid())).inheritIO().start();
      if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("kill -" + sig + " " + c.pid() + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private MeshState.ContainerState container(String pod, String container) {
    MeshState.PodState p =
        state().pod(pod).orElseThrow(() -> new IllegalArgumentException("no pod " + pod));
    return container == null ? p.defaultContainer() : p.container(container).orElseThrow();
  }

  @Override
  public void awaitReady(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    Result last = null;
    while (System.nanoTime() < deadline) {
      last = meshctl(Duration.ofSeconds(30), "status");
      if (last.ok()) {
        return;
      }
      Thread.sleep(500);
    }
    throw new IllegalStateException(
        "mesh not ready within " + timeout + ":\n" + (last == null ? "" : last.output()));
  }

  private MeshState state() {
    return new StateStore(stateDir)
        .read()
        .orElseThrow(() -> new IllegalStateException("no local mesh running"));
  }

  /** Runs ./meshctl with this target's state dir; output of both streams, bounded in time. */
  Result meshctl(Duration timeout, String... args) {
    List<String> argv = new ArrayList<>(List.of(args));
    argv.addAll(List.of("--state-dir", stateDir.toString()));
    return run(timeout, argv);
  }

  private Result run(Duration timeout, List<String> args) {
    List<String> argv = new ArrayList<>();
    argv.add(home.resolve("meshctl").toString());
    argv.addAll(args);
    try {
      Files.createDirectories(work);
      Path out = Files.createTempFile(work, "meshctl", ".out");
      Process p =
          new ProcessBuilder(argv)
              .directory(home.toFile())
              .redirectErrorStream(true)
              .redirectOutput(out.toFile())
              .start();
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        return new Result(
            124,
            "timed out after "
                + timeout
                + ": "
                + String.join(" ", argv)
                + "\n"
                + Files.readString(out, StandardCharsets.UTF_8));
      }
      String text = Files.readString(out, StandardCharsets.UTF_8);
      Files.deleteIfExists(out);
      return new Result(p.exitValue(), text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(130, "interrupted");
    }
  }
}
