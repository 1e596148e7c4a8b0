package io.shopmesh.mesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.shopmesh.mesh.proxy.xds.ControlPlaneStatus;
import io.vertx.core.json.JsonObject;
import java.io.File;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real istiod in its own process, killed and restarted, then frozen (SIGSTOP) past the ADS
 * keepalive and resumed, while a sidecar serves 50 requests per second: the sidecar keeps serving,
 * stays ready, says truthfully on its admin port that the control plane is gone, and reconnects
 * within about a second of istiod being back, converging to config changed in the meantime.
 */
@EnabledOnOs(OS.LINUX)
class IstiodOutageTest {
  @TempDir Path dir;
  Harness h = new Harness();
  Process istiod;
  Proxy proxy;
  int xdsPort;
  int httpPort;

  @AfterEach
  void tearDown() throws Exception {
    if (proxy != null) {
      proxy.close();
    }
    h.close();
    if (istiod != null) {
      new ProcessBuilder("kill", "-CONT", Long.toString(istiod.pid())).start().waitFor();
      istiod.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  static String serviceEntry(String name, String host, int port) {
    return """
        apiVersion: networking.istio.io/v1beta1
        kind: ServiceEntry
        metadata:
          name: %s
        spec:
          hosts:
          - %s
          location: MESH_EXTERNAL
          ports:
          - number: %d
            name: http
            protocol: HTTP
          resolution: DNS
        """
        .formatted(name, host, port);
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
    }
  }

  Process startIstiod() throws Exception {
    Path log = dir.resolve("istiod.log");
    ProcessBuilder pb =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m",
                "-cp",
                System.getProperty("java.class.path"),
                "io.shopmesh.mesh.istiod.IstiodMain",
                "--config-dir",
                dir.resolve("config").toString(),
                "--bind",
                "127.0.0.1",
                "--xds-port",
                Integer.toString(xdsPort),
                "--http-port",
                Integer.toString(httpPort))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    return pb.start();
  }

  static boolean accepts(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  static long awaitMs(BooleanSupplier c, long timeoutMs, String what) throws Exception {
    long t0 = System.nanoTime();
    while (!c.getAsBoolean()) {
      if (System.nanoTime() - t0 > TimeUnit.MILLISECONDS.toNanos(timeoutMs)) {
        throw new AssertionError("timed out after " + timeoutMs + " ms waiting for " + what);
      }
      Thread.sleep(10);
    }
    return (System.nanoTime() - t0) / 1_000_000;
  }

  JsonObject serverInfo() throws Exception {
    return new JsonObject(
        Harness.get(Harness.direct(), "http://127.0.0.1:" + proxy.port("admin") + "/server_info")
            .body());
  }

  int readyStatus() throws Exception {
    return Harness.get(
            Harness.direct(), "http://127.0.0.1:" + proxy.port("ready") + "/healthz/ready")
        .statusCode();
  }

  boolean connected() {
    ControlPlaneStatus s = proxy.xds().controlPlane();
    return s.connected();
  }

  static void signal(Process p, String sig) throws Exception {
    assertThat(new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).start().waitFor())
        .isZero();
  }

  @Test
  void sidecarServesThroughIstiodKillAndFreezeAndReconnectsWithinASecond() throws Exception {
    Stub app = h.stub("payment");
    Stub app2 = h.stub("payment2");
    Files.createDirectories(dir.resolve("config"));
    Files.writeString(
        dir.resolve("config/api.yaml"), serviceEntry("api", "api.local.test", app.port()));
    Path hosts = dir.resolve("hosts");
    Files.writeString(hosts, "127.0.0.1 api.local.test api2.local.test\n");
    xdsPort = freePort();
    httpPort = freePort();
    istiod = startIstiod();
    awaitMs(() -> accepts(xdsPort), 60_000, "istiod's xDS port");

    ProxyOptions o =
        Harness.sidecarOptions(
            "frontend-6b7f9-qq1w2", "frontend", "127.0.0.1", Map.of("app", "frontend"));
    o.istiod = "127.0.0.1:" + xdsPort;
    o.hostsFile = hosts;
    // the shortest keepalive istiod permits (pings every 10 s), and a short timeout
    o.xdsKeepaliveTimeMs = 10_000;
    o.xdsKeepaliveTimeoutMs = 2_000;
    proxy = new Proxy(o);
    proxy.start(true);
    awaitMs(proxy::isReady, 30_000, "first config");
    HttpClient c = Harness.viaProxy(proxy);
    String url = "http://api.local.test:" + app.port() + "/pay";
    awaitMs(
        () -> {
          try {
            return Harness.get(c, url).statusCode() == 200;
          } catch (Exception e) {
            return false;
          }
        },
        10_000,
        "traffic through the sidecar");
    JsonObject info = serverInfo();
    assertThat(info.getString("state")).isEqualTo("LIVE");
    assertThat(info.getJsonObject("control_plane").getBoolean("connected")).isTrue();
    assertThat(info.getJsonObject("control_plane").getString("last_ack_time")).isNotNull();

    // 50 requests per second for the whole test
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger ok = new AtomicInteger();
    List<String> errors = new CopyOnWriteArrayList<>();
    Thread traffic =
        new Thread(
            () -> {
              while (!stop.get()) {
                try {
                  HttpResponse<String> r = Harness.get(c, url);
                  if (r.statusCode() == 200) {
                    ok.incrementAndGet();
                  } else {
                    errors.add(r.statusCode() + " " + r.body());
                  }
                  Thread.sleep(20);
                } catch (Exception e) {
                  errors.add(e.toString());
                }
              }
            });
    traffic.start();
    try {
      // 1. kill -9; the config changes while istiod is down; the supervisor restarts it.
      istiod.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      awaitMs(() -> !connected(), 5_000, "the proxy to notice");
      assertThat(readyStatus()).isEqualTo(200);
      JsonObject cp = serverInfo().getJsonObject("control_plane");
      assertThat(serverInfo().getString("state")).isEqualTo("LIVE");
      assertThat(cp.getBoolean("connected")).isFalse();
      assertThat(cp.getString("last_error")).isNotNull();
      Files.writeString(
          dir.resolve("config/api2.yaml"), serviceEntry("api2", "api2.local.test", app2.port()));
      Thread.sleep(1_000);
      assertThat(serverInfo().getJsonObject("control_plane").getInteger("reconnect_attempts"))
          .isGreaterThan(0);
      istiod = startIstiod();
      awaitMs(() -> accepts(xdsPort), 60_000, "istiod back");
      Instant back = Instant.now();
      long reconnectMs = awaitMs(this::connected, 20_000, "reconnection after restart");
      // what the proxy controls: a new stream within one backoff cap (1 s) of istiod being back;
      // the rest is istiod generating the first config in a fresh JVM
      long openedMs =
          Math.max(
              0, Duration.between(back, proxy.xds().controlPlane().streamStarted()).toMillis());
      String url2 = "http://api2.local.test:" + app2.port() + "/pay";
      long convergeMs =
          reconnectMs
              + awaitMs(
                  () -> {
                    try {
                      return Harness.get(c, url2).statusCode() == 200;
                    } catch (Exception e) {
                      return false;
                    }
                  },
                  10_000,
                  "the config changed during the outage");
      System.out.printf(
          "istiod killed and restarted: new stream %d ms after its port opened, answered"
              + " (connected) after %d ms, config changed during the outage served after %d ms%n",
          openedMs, reconnectMs, convergeMs);
      assertThat(openedMs).isLessThan(1_500);

      // 2. freeze istiod past the keepalive (10 s + 2 s), then resume it.
      Thread.sleep(500);
      long frozenAt = System.nanoTime();
      signal(istiod, "STOP");
      long detectMs = awaitMs(() -> !connected(), 20_000, "keepalive to detect the freeze");
      assertThat(readyStatus()).isEqualTo(200);
      assertThat(serverInfo().getJsonObject("control_plane").getBoolean("connected")).isFalse();
      Thread.sleep(Math.max(0, 15_000 - (System.nanoTime() - frozenAt) / 1_000_000));
      signal(istiod, "CONT");
      long resumeMs = awaitMs(this::connected, 20_000, "reconnection after the freeze");
      System.out.printf(
          "istiod frozen 15 s: loss detected after %d ms (keepalive 10 s + 2 s), connected %d ms"
              + " after it resumed (the new stream was already waiting in its accept queue)%n",
          detectMs, resumeMs);
      assertThat(resumeMs).isLessThan(5_000);
      Thread.sleep(1_000);
    } finally {
      stop.set(true);
      traffic.join();
    }
    System.out.printf(
        "traffic at 50 rps through kill, restart, freeze, resume: %d x 200, %d errors %s%n",
        ok.get(), errors.size(), errors.stream().limit(5).toList());
    assertThat(errors).isEmpty();
    assertThat(ok.get()).isGreaterThan(500);
    assertThat(Harness.get(c, "http://api2.local.test:" + app2.port() + "/").statusCode())
        .isEqualTo(200);
    assertThat(new File(dir.resolve("istiod.log").toString())).exists();
  }
}
