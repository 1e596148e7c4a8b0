package io.shopmesh.mesh.meshctl;

import static org.assertj.core.api.Assertions.assertThat;

import io.shopmesh.mesh.istiod.XdsAuthenticator;
import io.shopmesh.mesh.meshctl.local.MeshState;
import io.shopmesh.mesh.meshctl.local.StateStore;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's process supervision end to end, with stand-ins for istiod, the proxy and the apps:
 * {@code up -d} returns once all is ready, a second {@code up} refuses, {@code down} leaves no
 * process, and killing the supervisor with SIGKILL takes every child down with it.
 */
@Timeout(120)
class LocalMeshLifecycleTest {

  @TempDir Path tmp;
  Path manifests;
  Path stateDir;
  String subnet;
  int gatewayPort;
  int gatewayHttpsPort;
  Path watchdogJar;

  @BeforeEach
  void setUp() throws IOException {
    manifests = Files.createDirectories(tmp.resolve("manifests"));
    Files.writeString(
        manifests.resolve("frontend.yaml"),
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: frontend
        spec:
          replicas: 2
          selector:
            matchLabels: {app: frontend}
          template:
            metadata:
              labels: {app: frontend, version: v1}
            spec:
              containers:
              - name: frontend
                image: example/frontend:latest
                ports:
                - containerPort: 80
        """);
    stateDir = tmp.resolve("state");
    subnet = "127.0." + ThreadLocalRandom.current().nextInt(150, 250);
    try (ServerSocket s = new ServerSocket(0)) {
      gatewayPort = s.getLocalPort();
    }
    try (ServerSocket s = new ServerSocket(0)) {
      gatewayHttpsPort = s.getLocalPort();
    }
    watchdogJar = watchdogAgent(tmp.resolve("watchdog.jar"));
  }

  /** The agent jar as the build packages it (package runs after the tests). */
  static Path watchdogAgent(Path jar) throws IOException {
    Manifest mf = new Manifest();
    mf.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    mf.getMainAttributes()
        .put(
            new Attributes.Name("Premain-Class"),
            "io.shopmesh.mesh.meshctl.watchdog.ParentWatchdog");
    String cls = "io/shopmesh/mesh/meshctl/watchdog/ParentWatchdog.class";
    try (OutputStream os = Files.newOutputStream(jar);
        JarOutputStream jos = new JarOutputStream(os, mf)) {
      jos.putNextEntry(new JarEntry(cls));
      jos.write(Files.readAllBytes(Path.of("target/classes").resolve(cls)));
      jos.closeEntry();
    }
    return jar;
  }

  int meshctl(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--state-dir", stateDir.toString()));
    return Meshctl.commandLine().execute(all.toArray(String[]::new));
  }

  int up(String... extra) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "up",
                "-d",
                manifests.toString(),
                "--subnet",
                subnet,
                "--istiod-address",
                subnet + ".250",
                "--gateway-port",
                Integer.toString(gatewayPort),
                "--gateway-https-port",
                Integer.toString(gatewayHttpsPort),
                "--timeout",
                "90",
                "--x-runtime",
                "istiodMain=" + FakeMesh.Istiod.class.getName(),
                "--x-runtime",
                "proxyMain=" + FakeMesh.Proxy.class.getName(),
                "--x-runtime",
                "appMain=" + FakeMesh.App.class.getName(),
                "--x-runtime",
                "watchdogJar=" + watchdogJar));
    args.addAll(List.of(extra));
    return meshctl(args.toArray(String[]::new));
  }

  List<ProcessHandle> processes(MeshState st) {
    List<ProcessHandle> out = new ArrayList<>();
    for (MeshState.PodState p : st.pods()) {
      for (MeshState.ContainerState c : p.containers()) {
        ProcessHandle.of(c.pid()).ifPresent(out::add);
      }
    }
    return out;
  }

  static void awaitAllDead(List<ProcessHandle> handles, long millis) throws InterruptedException {
    long deadline = System.currentTimeMillis() + millis;
    while (System.currentTimeMillis() < deadline
        && handles.stream().anyMatch(ProcessHandle::isAlive)) {
      Thread.sleep(200);
    }
    assertThat(handles.stream().filter(ProcessHandle::isAlive).map(ProcessHandle::pid).toList())
        .as("processes still alive")
        .isEmpty();
  }

  @Test
  void upDetachedThenCommandsThenDownLeavesNothing() throws Exception {
    try {
      assertThat(up()).isZero();
      MeshState st = new StateStore(stateDir).read().orElseThrow();
      assertThat(st.phase()).isEqualTo(MeshState.Phase.READY);
      // istiod, gateway, payment provider, 2 frontends
      assertThat(st.pods()).hasSize(5);
      List<ProcessHandle> procs = processes(st);
      assertThat(procs).hasSize(1 + 1 + 1 + 2 * 2).allMatch(ProcessHandle::isAlive);
      assertThat(Files.readString(stateDir.resolve("hosts")))
          .contains(subnet + ".2 api.payment-provider.com");
      String frontend =
          st.pods().stream()
              .filter(p -> "frontend".equals(p.workload()))
              .findFirst()
              .orElseThrow()
              .name();
      assertThat(frontend).matches("frontend-[a-z0-9]+-[a-z0-9]{5}");
      assertThat(stateDir.resolve("logs").resolve(frontend).resolve("istio-proxy.log")).exists();
      // the pod's token is the user's alone, and istiod's registry has only its hash
      Path token = stateDir.resolve("pods").resolve(frontend).resolve("istio-token");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(token)))
          .isEqualTo("rw-------");
      String registry = Files.readString(stateDir.resolve("registry.json"));
      assertThat(registry)
          .contains(XdsAuthenticator.sha256(Files.readString(token)))
          .doesNotContain(Files.readString(token));

      assertThat(up()).as("a second up refuses").isEqualTo(1);
      assertThat(meshctl("status")).isZero();
      assertThat(meshctl("proxy-config", "routes", frontend, "--name", "8080")).isZero();
      assertThat(meshctl("proxy-config", "clusters", frontend, "-o", "json")).isZero();
      assertThat(
              meshctl(
                  "metrics",
                  "istio_requests_total{reporter=\"source\"}",
                  "--by",
                  "destination_version"))
          .isZero();
      assertThat(meshctl("logs", frontend)).isZero();
      assertThat(meshctl("logs", frontend, "-c", "istio-proxy")).isZero();

      Path good = Files.writeString(tmp.resolve("good.yaml"), "kind: VirtualService\nweight: 50\n");
      Path bad = Files.writeString(tmp.resolve("bad.yaml"), "kind: VirtualService\nweight: 70\n");
      assertThat(meshctl("apply", "-f", good.toString())).isZero();
      assertThat(meshctl("apply", "-f", bad.toString())).isEqualTo(1);

      assertThat(meshctl("down")).isZero();
      awaitAllDead(procs, 15_000);
      assertThat(new StateStore(stateDir).read()).isEmpty();
      assertThat(meshctl("status")).isEqualTo(1);
    } finally {
      meshctl("down");
    }
  }

  @Test
  void exitWithStopsTheMeshWhenItsOwnerIsGone() throws Exception {
    Process owner = new ProcessBuilder("sleep", "300").start();
    try {
      assertThat(up("--exit-with", Long.toString(owner.pid()))).isZero();
      MeshState st = new StateStore(stateDir).read().orElseThrow();
      List<ProcessHandle> procs = processes(st);
      procs.add(ProcessHandle.of(st.supervisorPid()).orElseThrow());
      owner.destroyForcibly();
      awaitAllDead(procs, 20_000);
      assertThat(new StateStore(stateDir).read()).as("a clean stop removes the state").isEmpty();
    } finally {
      owner.destroyForcibly();
      meshctl("down");
    }
  }

  @Test
  void killingTheSupervisorTakesEveryProcessWithIt() throws Exception {
    try {
      assertThat(up()).isZero();
      MeshState st = new StateStore(stateDir).read().orElseThrow();
      List<ProcessHandle> procs = processes(st);
      ProcessHandle supervisor = ProcessHandle.of(st.supervisorPid()).orElseThrow();
      supervisor.destroyForcibly(); // kill -9: no shutdown hook runs
      awaitAllDead(procs, 15_000);
      // the state file is stale now; down cleans it up and a new up works
      assertThat(meshctl("down")).isZero();
      assertThat(new StateStore(stateDir).read()).isEmpty();
    } finally {
      meshctl("down");
    }
  }
}
