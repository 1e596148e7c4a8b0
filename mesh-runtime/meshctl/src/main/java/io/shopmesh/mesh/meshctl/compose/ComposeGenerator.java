package io.shopmesh.mesh.meshctl.compose;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.MeshConfig;
import io.shopmesh.mesh.meshctl.local.GatewayCredentials;
import io.shopmesh.mesh.meshctl.local.ImageCatalog;
import io.shopmesh.mesh.meshctl.local.MeshPlan;
import io.shopmesh.mesh.meshctl.local.MeshPlan.Container;
import io.shopmesh.mesh.meshctl.local.MeshPlan.ContainerType;
import io.shopmesh.mesh.meshctl.local.MeshPlan.Kind;
import io.shopmesh.mesh.meshctl.local.MeshPlan.Pod;
import io.shopmesh.mesh.meshctl.local.MeshPlan.PortMapping;
import io.shopmesh.mesh.meshctl.local.Planner;
import io.shopmesh.mesh.meshctl.local.RegistryWriter;
import io.shopmesh.mesh.wire.ListenerNames;
import io.shopmesh.mesh.wire.NodeId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Writes the docker-compose.yml that runs the manifests' pods as containers, the way a kubelet with
 * Istio's injector would: per pod a holder container that owns the network namespace (Kubernetes'
 * pause container, with the pod's IP and its Services' names as network aliases), the istio-init
 * step (iptables REDIRECT rules, NET_ADMIN, short-lived), the istio-proxy sidecar (uid 1337) and
 * the app containers, all sharing the holder's namespace through {@code network_mode: service:}.
 *
 * <p>Pure text generation from the config: same manifests, same file (pod names come from a fixed
 * seed), so a test can check the committed file against the manifests. The subset of the format
 * used here is read by docker-compose 1.29 (file version 2.4) and by docker compose v2.
 */
public final class ComposeGenerator {

  public enum Interception {
    /** istio-init's iptables rules; apps have no proxy setting (as under Istio). */
    REDIRECT,
    /** no iptables: apps send outbound calls to 127.0.0.1:15001 as their HTTP proxy. */
    NONE
  }

  public record Options(String subnet, Interception interception, String configDir, long seed) {
    public static Options defaults() {
      return new Options("10.244.0", Interception.REDIRECT, "./manifests", 1L);
    }
  }

  public static final String PILOT_IMAGE = "shopmesh/pilot:latest";
  public static final String PROXY_IMAGE = "shopmesh/proxyv2:latest";
  public static final String ISTIOD = "istiod";
  public static final String GATEWAY = "istio-ingressgateway";
  public static final String PAYMENT = Planner.PAYMENT_PROVIDER;
  public static final String CERTS_VOLUME = "payment-certs";
  public static final String CERTS_PATH = "/etc/certs/payment-provider";

  /** istio-proxy's uid and gid, excluded from the REDIRECT rules. */
  public static final String PROXY_USER = "1337:1337";

  static final String JVM_FLAGS =
      "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss512k"
          + " -XX:ReservedCodeCacheSize=48m -Djava.net.preferIPv4Stack=true";

  private final MeshConfig config;
  private final Options opts;
  private final MeshPlan plan;
  private final StringBuilder out = new StringBuilder();

  public ComposeGenerator(MeshConfig config, Options opts) {
    this.config = config;
    this.opts = opts;
    this.plan = Planner.plan(config, Planner.Options.defaults(), new Random(opts.seed()));
  }

  public MeshPlan plan() {
    return plan;
  }

  /** Docker's bridge takes .1; istiod .2, the payment provider .3, the gateway .4, pods .11 up. */
  public String ip(Pod pod) {
    return switch (pod.kind()) {
      case GATEWAY -> opts.subnet() + ".4";
      case EXTERNAL -> opts.subnet() + ".3";
      case WORKLOAD -> opts.subnet() + pod.ip().substring(pod.ip().lastIndexOf('.'));
    };
  }

  public String istiodIp() {
    return opts.subnet() + ".2";
  }

  public String generate() {
    out.setLength(0);
    line(
        0,
        "# Generated from the manifests by `./meshctl compose` -- edit the manifests, then regenerate:");
    line(0, "#   ./meshctl compose > docker-compose.yml");
    line(
        0,
        "# Images: deploy/docker/build-images.sh (docs/containers.md). Then: docker compose up -d");
    line(
        0,
        "# Interception: "
            + (opts.interception() == Interception.REDIRECT
                ? "iptables REDIRECT set up by each pod's istio-init step; apps have no proxy setting."
                : "none; apps use their sidecar as HTTP proxy (QUARKUS_REST_CLIENT_PROXY_ADDRESS)."));
    line(0, "version: \"2.4\"");
    line(0, "");
    line(0, "networks:");
    line(1, "mesh:");
    line(2, "ipam:");
    line(3, "config:");
    line(4, "- subnet: " + opts.subnet() + ".0/24");
    line(5, "gateway: " + opts.subnet() + ".1");
    line(0, "");
    line(0, "volumes:");
    line(
        1,
        "# the payment provider's generated CA, read by the sidecars (DestinationRule payment-api)");
    line(1, CERTS_VOLUME + ": {}");
    line(0, "");
    line(0, "services:");
    istiod();
    for (Pod pod : plan.pods()) {
      switch (pod.kind()) {
        case GATEWAY -> gateway(pod);
        case EXTERNAL -> payment(pod);
        case WORKLOAD -> workload(pod);
      }
    }
    return out.toString();
  }

  private void istiod() {
    line(0, "");
    line(1, ISTIOD + ":");
    line(2, "image: " + PILOT_IMAGE);
    line(2, "hostname: " + ISTIOD);
    line(2, "# an OutOfMemoryError exits (ExitOnOutOfMemoryError); docker starts it again");
    line(2, "restart: unless-stopped");
    list(
        2,
        "command",
        List.of(
            "--config-dir",
            "/etc/istio/config",
            "--bind",
            "0.0.0.0",
            "--xds-port",
            "15010",
            "--http-port",
            "15014"));
    line(2, "environment:");
    line(
        3,
        "JAVA_TOOL_OPTIONS: " + quote("-Xms16m -Xmx256m -XX:+ExitOnOutOfMemoryError " + JVM_FLAGS));
    line(3, "# the registry's source of truth: the pods planned from the manifests; istiod probes");
    line(3, "# their ports for readiness (docs/istiod.md, Registry)");
    line(
        3,
        "REGISTRY_JSON: "
            + quote(
                compact(
                    RegistryWriter.json(
                        plan,
                        Map.of(),
                        "meshctl compose: the pods planned from the manifests",
                        this::ip,
                        true))));
    line(2, "volumes:");
    line(3, "# read-write: istiod watches it, and POST /apply (meshctl apply) writes into it");
    line(3, "- " + quote("${MESH_CONFIG_DIR:-" + opts.configDir() + "}:/etc/istio/config"));
    line(2, "ports:");
    line(3, "- " + quote("127.0.0.1:${ISTIOD_HTTP_PORT:-15014}:15014"));
    network(
        2,
        istiodIp(),
        List.of("istiod.istio-system.svc", "istiod." + NodeId.dnsDomain("istio-system")));
    healthcheck(2, "http://127.0.0.1:15014/ready");
  }

  private void gateway(Pod pod) {
    line(0, "");
    line(
        1,
        "# the ingress gateway: Gateway port 80 is its listener "
            + ListenerNames.forPort(8080)
            + " (Service 80 -> 8080)");
    line(1, GATEWAY + ":");
    line(2, "image: " + PROXY_IMAGE);
    line(2, "hostname: " + pod.name());
    line(2, "user: " + quote(PROXY_USER));
    list(2, "command", proxyArgs(pod, NodeId.Type.ROUTER.prefix()));
    line(2, "environment:");
    line(3, "JAVA_TOOL_OPTIONS: " + quote("-Xms16m -Xmx128m " + JVM_FLAGS));
    line(2, "ports:");
    line(3, "- " + quote("127.0.0.1:${GATEWAY_PORT:-8080}:" + Planner.GATEWAY_HTTP_PORT));
    line(3, "- " + quote("127.0.0.1:${GATEWAY_HTTPS_PORT:-8443}:" + Planner.GATEWAY_HTTPS_PORT));
    line(2, "volumes:");
    line(3, "- " + quote(CERTS_VOLUME + ":" + CERTS_PATH + ":ro"));
    line(3, "# credentialName shop-credential, as a mounted kubernetes.io/tls Secret would be");
    line(
        3,
        "- "
            + quote(
                "${MESH_SHOP_CREDENTIAL_DIR:-./.mesh/certs/"
                    + GatewayCredentials.SHOP_CREDENTIAL
                    + "}:/etc/certs/"
                    + GatewayCredentials.SHOP_CREDENTIAL
                    + ":ro"));
    network(
        2,
        ip(pod),
        List.of(
            "istio-ingressgateway.istio-system.svc",
            "istio-ingressgateway." + NodeId.dnsDomain("istio-system")));
    dependsOn(2, Map.of(ISTIOD, "service_healthy", PAYMENT, "service_healthy"));
    healthcheck(2, "http://127.0.0.1:15021/healthz/ready");
  }

  private void payment(Pod pod) {
    line(0, "");
    line(
        1,
        "# outside the mesh (no sidecar): reached as api.payment-provider.com through ServiceEntry payment-api");
    line(1, PAYMENT + ":");
    line(2, "image: " + image(pod.containers().get(0), "example/payment-provider:latest"));
    line(2, "hostname: " + PAYMENT);
    line(2, "environment:");
    line(3, "QUARKUS_HTTP_PORT: \"80\"");
    line(3, "QUARKUS_HTTP_SSL_PORT: \"443\"");
    line(3, "PAYMENT_CERTS_DIR: " + CERTS_PATH);
    line(3, "PAYMENT_CERTS_SANS: " + Planner.PAYMENT_PROVIDER_HOST + "," + ip(pod));
    line(3, "JAVA_TOOL_OPTIONS: " + quote("-Xms16m -Xmx128m " + JVM_FLAGS));
    line(2, "volumes:");
    line(3, "- " + quote(CERTS_VOLUME + ":" + CERTS_PATH));
    network(2, ip(pod), List.of(Planner.PAYMENT_PROVIDER_HOST));
    healthcheck(2, "http://127.0.0.1:80/q/health/ready");
  }

  private void workload(Pod pod) {
    String p = pod.name();
    boolean redirect = opts.interception() == Interception.REDIRECT;
    line(0, "");
    line(1, "# pod " + p + " (Deployment " + pod.workload() + ", " + pod.labelsFlag() + ")");
    line(1, p + ":");
    line(2, "# holds the pod's network namespace, like Kubernetes' pause container");
    line(2, "image: " + PROXY_IMAGE);
    line(2, "hostname: " + p);
    list(2, "entrypoint", List.of("sleep", "infinity"));
    line(2, "stop_signal: SIGKILL");
    network(2, ip(pod), aliases(pod));
    if (redirect) {
      line(1, p + "-istio-init:");
      line(2, "image: " + PROXY_IMAGE);
      list(2, "entrypoint", List.of("/usr/local/bin/istio-iptables.sh"));
      line(2, "network_mode: " + quote("service:" + p));
      list(2, "cap_add", List.of("NET_ADMIN", "NET_RAW"));
      line(2, "restart: \"no\"");
      dependsOn(2, Map.of(p, "service_started"));
    }
    line(1, p + "-istio-proxy:");
    line(2, "image: " + PROXY_IMAGE);
    line(2, "user: " + quote(PROXY_USER));
    line(2, "network_mode: " + quote("service:" + p));
    list(2, "command", proxyArgs(pod, NodeId.Type.SIDECAR.prefix()));
    line(2, "environment:");
    line(3, "JAVA_TOOL_OPTIONS: " + quote("-Xms16m -Xmx128m " + JVM_FLAGS));
    line(2, "volumes:");
    line(3, "- " + quote(CERTS_VOLUME + ":" + CERTS_PATH + ":ro"));
    Map<String, String> deps = new TreeMap<>();
    deps.put(ISTIOD, "service_healthy");
    deps.put(PAYMENT, "service_healthy");
    deps.put(
        redirect ? p + "-istio-init" : p,
        redirect ? "service_completed_successfully" : "service_started");
    dependsOn(2, deps);
    healthcheck(2, "http://127.0.0.1:15021/healthz/ready");
    for (Container c : pod.containers()) {
      if (c.type() != ContainerType.APP) {
        continue;
      }
      int port = c.ports().isEmpty() ? 8080 : c.ports().get(0).containerPort();
      line(1, p + "-" + c.name() + ":");
      line(2, "image: " + image(c, null));
      line(2, "network_mode: " + quote("service:" + p));
      line(2, "environment:");
      line(3, "POD_NAME: " + p);
      line(3, "POD_NAMESPACE: " + pod.namespace());
      line(3, "QUARKUS_HTTP_PORT: " + quote(Integer.toString(port)));
      if (!redirect) {
        line(3, "QUARKUS_REST_CLIENT_PROXY_ADDRESS: " + quote("127.0.0.1:15001"));
      }
      String heap =
          c.module() != null && c.module().equals("order-service") ? "-Xmx192m" : "-Xmx128m";
      line(3, "JAVA_TOOL_OPTIONS: " + quote("-Xms16m " + heap + " " + JVM_FLAGS));
      line(2, "# like holdApplicationUntilProxyStarts: the app starts once its sidecar is ready");
      dependsOn(2, Map.of(p + "-istio-proxy", "service_healthy"));
      healthcheck(2, "http://127.0.0.1:" + port + "/q/health/ready");
    }
  }

  private List<String> proxyArgs(Pod pod, String role) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--role", role,
                "--pod-name", pod.name(),
                "--namespace", pod.namespace(),
                "--pod-ip", ip(pod),
                "--labels", pod.labelsFlag(),
                "--workload-name", pod.workload(),
                "--ports", ports(pod),
                "--istiod", istiodIp() + ":15010",
                "--bind", "0.0.0.0",
                "--interception",
                    opts.interception() == Interception.REDIRECT ? "redirect" : "none",
                "--access-log", "-"));
    return args;
  }

  private static String ports(Pod pod) {
    List<PortMapping> ports =
        pod.kind() == Kind.GATEWAY ? pod.containers().get(0).ports() : pod.appPorts();
    return ports.stream()
        .map(x -> Integer.toString(x.containerPort()))
        .collect(Collectors.joining(","));
  }

  /** The image the Deployment names for this container (the plan keeps the module only). */
  private String image(Container c, String fallback) {
    for (Located<Deployment> d : config.deployments()) {
      var spec = d.object().getSpec();
      if (spec == null || spec.getTemplate() == null || spec.getTemplate().getSpec() == null) {
        continue;
      }
      for (var k : spec.getTemplate().getSpec().getContainers()) {
        if (k.getName().equals(c.name())
            && c.module() != null
            && ImageCatalog.moduleFor(k.getImage()).orElse("").equals(c.module())) {
          return k.getImage();
        }
      }
    }
    if (fallback == null) {
      throw new IllegalStateException("no image for container " + c.name());
    }
    return fallback;
  }

  /** The names a pod answers to: every Service that selects it, short and fully qualified. */
  private List<String> aliases(Pod pod) {
    List<String> names = new ArrayList<>();
    for (Located<Service> s : config.services()) {
      var spec = s.object().getSpec();
      Map<String, String> sel = spec == null ? null : spec.getSelector();
      if (sel == null || sel.isEmpty() || !s.namespace().equals(pod.namespace())) {
        continue;
      }
      if (sel.entrySet().stream()
          .allMatch(e -> e.getValue().equals(pod.labels().get(e.getKey())))) {
        String n = s.name();
        names.add(n);
        names.add(n + "." + s.namespace());
        names.add(n + "." + s.namespace() + ".svc");
        names.add(n + "." + s.namespace() + "." + MeshConfig.DOMAIN_SUFFIX);
      }
    }
    return names;
  }

  private void network(int indent, String ip, List<String> aliases) {
    line(indent, "networks:");
    line(indent + 1, "mesh:");
    line(indent + 2, "ipv4_address: " + ip);
    if (!aliases.isEmpty()) {
      list(indent + 2, "aliases", aliases);
    }
  }

  private void dependsOn(int indent, Map<String, String> deps) {
    line(indent, "depends_on:");
    new TreeMap<>(deps)
        .forEach(
            (k, v) -> {
              line(indent + 1, k + ":");
              line(indent + 2, "condition: " + v);
            });
  }

  private void healthcheck(int indent, String url) {
    line(indent, "healthcheck:");
    list(
        indent + 1,
        "test",
        List.of("CMD", "curl", "-fsS", "-o", "/dev/null", "--max-time", "2", url));
    line(indent + 1, "interval: 2s");
    line(indent + 1, "timeout: 3s");
    line(indent + 1, "retries: 150");
    line(indent + 1, "start_period: 5s");
  }

  private void list(int indent, String key, List<String> items) {
    line(
        indent,
        key
            + ": ["
            + items.stream().map(ComposeGenerator::quote).collect(Collectors.joining(", "))
            + "]");
  }

  private static String compact(String json) {
    try {
      ObjectMapper m = new ObjectMapper();
      return m.writeValueAsString(m.readTree(json));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  private void line(int indent, String text) {
    if (!text.isEmpty()) {
      out.append("  ".repeat(indent)).append(text);
    }
    out.append('\n');
  }
}
