package io.shopmesh.mesh.meshctl.local;

import io.shopmesh.mesh.meshctl.local.MeshPlan.Container;
import io.shopmesh.mesh.meshctl.local.MeshPlan.Kind;
import io.shopmesh.mesh.meshctl.local.MeshPlan.Pod;
import io.shopmesh.mesh.meshctl.local.MeshPlan.PortMapping;
import io.shopmesh.mesh.wire.NodeId;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The command lines and environments of the processes of a plan: istiod, proxies, apps. Pure, so
 * the exact flags are unit-tested against the runtime contracts.
 */
public final class Commands {

  public static final String ISTIOD_MAIN = "io.shopmesh.mesh.istiod.IstiodMain";
  public static final String PROXY_MAIN = "io.shopmesh.mesh.proxy.ProxyMain";

  /** In the state dir: the token istiod's POST /apply needs (meshctl apply sends it). */
  public static final String APPLY_TOKEN_FILE = "istiod-apply-token";

  /**
   * JVM flags for the many small JVMs: C1 only and the serial collector start ~20 JVMs on two cores
   * quickly and keep each small; heaps sized per role.
   */
  public static final List<String> COMMON_JVM_FLAGS =
      List.of(
          "-XX:TieredStopAtLevel=1",
          "-XX:+UseSerialGC",
          "-Xss512k",
          "-XX:ReservedCodeCacheSize=48m",
          "-Xshare:auto",
          "-Djava.net.preferIPv4Stack=true");

  /** Where things are on this machine. */
  public record Layout(
      Path home,
      Path stateDir,
      String javaBin,
      String runtimeClasspath,
      Path watchdogJar,
      long supervisorPid,
      Path configDir,
      List<String> extraJvmFlags,
      Map<String, String> overrides) {

    /**
     * Overrides of what runs (keys istiodMain, proxyMain, appMain), for tests without the real
     * parts.
     */
    public String override(String key, String dflt) {
      return overrides == null ? dflt : overrides.getOrDefault(key, dflt);
    }

    /** istiod's registry: the planned pods and their readiness ({@link RegistryWriter}). */
    public Path registryFile() {
      return stateDir.resolve("registry.json");
    }

    /** istiod's CA files (Istio's cacerts): the root created at first start is kept there. */
    public Path caDir() {
      return stateDir.resolve("istiod").resolve("cacerts");
    }

    /** The bearer token istiod's POST /apply needs; meshctl apply reads it from here. */
    public Path applyTokenFile() {
      return stateDir.resolve(APPLY_TOKEN_FILE);
    }

    public Path hostsFile() {
      return stateDir.resolve("hosts");
    }

    public Path certsRoot() {
      return stateDir.resolve("certs");
    }

    public Path paymentCertsDir() {
      return certsRoot().resolve("payment-provider");
    }

    public Path podDir(String pod) {
      return stateDir.resolve("pods").resolve(pod);
    }

    /** The pod's token for istiod, readable by the user only (a projected SA token's stand-in). */
    public Path tokenFile(String pod) {
      return podDir(pod).resolve("istio-token");
    }

    public Path logFile(String pod, String container) {
      return stateDir.resolve("logs").resolve(pod).resolve(container + ".log");
    }

    public Path appJar(String module) {
      return home.resolve(module)
          .resolve("target")
          .resolve("quarkus-app")
          .resolve("quarkus-run.jar");
    }
  }

  /** A process to start: argv, extra environment, working directory. */
  public record ProcessSpec(
      String pod, String container, List<String> argv, Map<String, String> env, Path workDir) {
    public ProcessSpec {
      argv = List.copyOf(argv);
      env = Map.copyOf(env);
    }
  }

  private final MeshPlan plan;
  private final Layout layout;

  public Commands(MeshPlan plan, Layout layout) {
    this.plan = plan;
    this.layout = layout;
  }

  private List<String> jvm(String heap) {
    List<String> argv = new ArrayList<>();
    argv.add(layout.javaBin());
    argv.add("-Xms16m");
    argv.add(heap);
    argv.addAll(COMMON_JVM_FLAGS);
    if (layout.watchdogJar() != null) {
      // the child exits by itself when meshctl's supervisor is gone, even after kill -9
      argv.add("-javaagent:" + layout.watchdogJar() + "=" + layout.supervisorPid());
    }
    argv.addAll(layout.extraJvmFlags());
    return argv;
  }

  public ProcessSpec istiod() {
    List<String> argv = jvm("-Xmx256m");
    // an OutOfMemoryError ends the process (the supervisor restarts it), it never limps on
    argv.add("-XX:+ExitOnOutOfMemoryError");
    argv.addAll(
        List.of(
            "-cp",
            layout.runtimeClasspath(),
            layout.override("istiodMain", ISTIOD_MAIN),
            "--config-dir",
            layout.configDir().toString(),
            "--bind",
            plan.istiodAddress(),
            "--xds-port",
            Integer.toString(plan.xdsPort()),
            "--http-port",
            Integer.toString(plan.istiodHttpPort()),
            "--registry-file",
            layout.registryFile().toString(),
            "--ca-dir",
            layout.caDir().toString(),
            "--apply-token-file",
            layout.applyTokenFile().toString()));
    return new ProcessSpec("istiod", "discovery", argv, Map.of(), layout.podDir("istiod"));
  }

  public ProcessSpec proxy(Pod pod) {
    List<String> argv = jvm("-Xmx128m");
    argv.addAll(
        List.of(
            "-cp",
            layout.runtimeClasspath(),
            layout.override("proxyMain", PROXY_MAIN),
            "--role",
            (pod.kind() == Kind.GATEWAY ? NodeId.Type.ROUTER : NodeId.Type.SIDECAR).prefix(),
            "--pod-name",
            pod.name(),
            "--namespace",
            pod.namespace(),
            "--pod-ip",
            pod.ip(),
            "--labels",
            pod.labelsFlag(),
            "--workload-name",
            pod.workload(),
            "--ports",
            portsFlag(pod),
            "--istiod",
            plan.istiodAddress() + ":" + plan.xdsPort(),
            "--bind",
            pod.ip(),
            "--local-port-offset",
            Integer.toString(MeshPlan.LOW_PORT_OFFSET),
            "--interception",
            "none",
            "--hosts-file",
            layout.hostsFile().toString(),
            "--certs-root",
            layout.certsRoot().toString(),
            "--token-file",
            layout.tokenFile(pod.name()).toString(),
            "--access-log",
            "-"));
    if (pod.kind() == Kind.GATEWAY) {
      argv.addAll(
          List.of(
              "--listener-bind",
              Planner.GATEWAY_HTTP_PORT
                  + "="
                  + plan.gatewayPublishAddress()
                  + ":"
                  + plan.gatewayPublishPort()
                  + ","
                  + Planner.GATEWAY_HTTPS_PORT
                  + "="
                  + plan.gatewayPublishAddress()
                  + ":"
                  + plan.gatewayHttpsPublishPort()));
    }
    return new ProcessSpec(
        pod.name(), Planner.PROXY_CONTAINER, argv, Map.of(), layout.podDir(pod.name()));
  }

  private static String portsFlag(Pod pod) {
    List<PortMapping> ports =
        pod.kind() == Kind.GATEWAY ? pod.containers().get(0).ports() : pod.appPorts();
    return ports.stream()
        .map(p -> Integer.toString(p.containerPort()))
        .collect(Collectors.joining(","));
  }

  public ProcessSpec app(Pod pod, Container c) {
    List<String> argv = jvm(c.module().equals("order-service") ? "-Xmx192m" : "-Xmx128m");
    String appMain = layout.override("appMain", null);
    if (appMain != null) {
      argv.addAll(List.of("-cp", layout.runtimeClasspath(), appMain, c.module()));
    } else {
      argv.addAll(List.of("-jar", layout.appJar(c.module()).toString()));
    }
    Map<String, String> env = new LinkedHashMap<>();
    env.put("POD_NAME", pod.name());
    env.put("POD_NAMESPACE", pod.namespace());
    env.put("QUARKUS_HTTP_HOST", pod.ip());
    env.put("QUARKUS_MANAGEMENT_HOST", pod.ip());
    if (pod.kind() == Kind.EXTERNAL) {
      // the provider serves plain HTTP and HTTPS on its own address, outside the mesh
      env.put("QUARKUS_HTTP_PORT", Integer.toString(MeshPlan.localPort(80)));
      env.put("QUARKUS_HTTP_SSL_PORT", Integer.toString(MeshPlan.localPort(443)));
      // it makes its CA and server certificate here; the proxies read the CA from the same place
      // (/etc/certs/payment-provider/ca.crt under --certs-root)
      env.put("PAYMENT_CERTS_DIR", layout.paymentCertsDir().toString());
    } else {
      int port = c.ports().isEmpty() ? 8080 : c.ports().get(0).localPort();
      env.put("QUARKUS_HTTP_PORT", Integer.toString(port));
      env.put("QUARKUS_REST_CLIENT_PROXY_ADDRESS", pod.ip() + ":15001");
    }
    return new ProcessSpec(pod.name(), c.name(), argv, env, layout.podDir(pod.name()));
  }

  /** Every container of a pod, sidecar first so it is listening when the app makes calls. */
  public List<ProcessSpec> pod(Pod pod) {
    List<ProcessSpec> out = new ArrayList<>();
    for (Container c : pod.containers()) {
      if (c.type() == MeshPlan.ContainerType.PROXY) {
        out.add(proxy(pod));
      }
    }
    for (Container c : pod.containers()) {
      if (c.type() == MeshPlan.ContainerType.APP) {
        out.add(app(pod, c));
      }
    }
    return out;
  }

  /** The hosts file the proxies resolve external names with: the provider's own address. */
  public String hostsFile() {
    StringBuilder sb = new StringBuilder("# written by meshctl up: names outside the mesh\n");
    plan.pods().stream()
        .filter(p -> p.kind() == Kind.EXTERNAL && p.workload().equals(Planner.PAYMENT_PROVIDER))
        .forEach(
            p -> sb.append(p.ip()).append(' ').append(Planner.PAYMENT_PROVIDER_HOST).append('\n'));
    return sb.toString();
  }
}
