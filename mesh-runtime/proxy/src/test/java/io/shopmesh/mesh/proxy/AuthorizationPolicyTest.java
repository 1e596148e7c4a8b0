package io.shopmesh.mesh.proxy;

import static io.shopmesh.mesh.proxy.Shapes.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.shopmesh.mesh.config.ConfigLoader;
import io.shopmesh.mesh.config.LoadResult;
import io.shopmesh.mesh.config.MeshConfig;
import io.shopmesh.mesh.xds.PodPort;
import io.shopmesh.mesh.xds.ProxyNode;
import io.shopmesh.mesh.xds.ServiceRegistry;
import io.shopmesh.mesh.xds.WorkloadInstance;
import io.shopmesh.mesh.xds.XdsGenerator;
import io.shopmesh.mesh.xds.XdsResources;
import io.shopmesh.mesh.xds.authz.RbacBuilder;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AuthorizationPolicies written as Istio YAML, translated by the real translator, enforced by the
 * proxy on real sockets: the order service's sidecar answers a denied request with 403 {@code RBAC:
 * access denied} (and counts it), DENY wins over ALLOW, an ALLOW policy that matches nothing allows
 * nothing, a dry-run policy decides nothing, and a TCP chain's RBAC closes a denied connection.
 */
class AuthorizationPolicyTest {
  static final WorkloadInstance ORDER =
      new WorkloadInstance(
          "order-0",
          "default",
          "127.0.0.1",
          Map.of("app", "order-service"),
          "order-service",
          List.of(new PodPort("http", 8080, "TCP")),
          true);

  static final String SERVICE =
      """
      apiVersion: v1
      kind: Service
      metadata: {name: order-service, namespace: default}
      spec:
        selector: {app: order-service}
        ports: [{name: http, port: 8080, targetPort: 8080}]
      """;

  @TempDir Path tmp;
  Harness h = new Harness();

  @AfterEach
  void tearDown() {
    h.close();
  }

  MeshConfig load(String yaml) throws Exception {
    Path f = tmp.resolve("config-" + System.nanoTime() + ".yaml");
    Files.writeString(f, yaml);
    LoadResult loaded = new ConfigLoader().load(List.of(f));
    assertThat(loaded.hasErrors()).as("load: %s", loaded.diagnostics()).isFalse();
    return loaded.config();
  }

  /** The order service's sidecar on the translation of the YAML, its app being {@code app}. */
  Proxy orderSidecar(String yaml, Stub app) throws Exception {
    MeshConfig config = load(SERVICE + yaml);
    ProxyOptions o =
        Harness.sidecarOptions(ORDER.podName(), ORDER.workloadName(), "127.0.0.1", ORDER.labels());
    Proxy p = h.start(o);
    XdsResources r =
        XdsGenerator.generate(
            config, new ServiceRegistry(List.of(ORDER)), ProxyNode.sidecar(ORDER));
    // the app listens on an ephemeral port, not on the pod's 8080
    List<Cluster> clusters = new ArrayList<>();
    for (Cluster c : r.clusters()) {
      clusters.add(
          c.getName().equals("inbound|8080||")
              ? inboundCluster(8080, "127.0.0.1", app.port(), "order-service")
              : c);
    }
    p.apply(clusters, r.endpoints(), r.listeners(), r.routes());
    return p;
  }

  static String call(Proxy p, String method, String path) throws Exception {
    return Harness.raw(
        "127.0.0.1",
        p.port("inbound"),
        method
            + " "
            + path
            + " HTTP/1.1\r\nHost: order-service:8080\r\n"
            + "x-envoy-original-dst-host: 127.0.0.1:8080\r\ncontent-length: 0\r\n"
            + "Connection: close\r\n\r\n");
  }

  static String policy(String name, String spec) {
    return "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
        + "metadata: {name: "
        + name
        + ", namespace: default}\nspec:\n"
        + spec;
  }

  @Test
  void onlyTheAllowedOperationsPassAndADenialIsA403CountedInTheMetrics() throws Exception {
    Stub app = h.stub("order");
    String yaml =
        policy(
            "order",
            """
              selector: {matchLabels: {app: order-service}}
              rules:
              - from: [{source: {principals: [cluster.local/ns/default/sa/shop-frontend]}}]
                to: [{operation: {methods: [POST], paths: [/orders*]}}]
              - to: [{operation: {methods: [GET], paths: [/health]}}]
            """);
    Proxy p = orderSidecar(yaml, app);
    // plain text: no client certificate, so no principal, so the first rule cannot match
    String denied = call(p, "POST", "/orders");
    assertThat(denied).startsWith("HTTP/1.1 403").endsWith("RBAC: access denied");
    assertThat(call(p, "GET", "/health")).startsWith("HTTP/1.1 200").endsWith("order");
    assertThat(call(p, "GET", "/orders")).startsWith("HTTP/1.1 403");
    assertThat(app.uris).containsExactly("/health");
    // Envoy's RBAC counters under the HCM's stat prefix
    assertThat(p.metrics().counters())
        .containsEntry("http.inbound_0.0.0.0_8080.rbac.denied", 2L)
        .containsEntry("http.inbound_0.0.0.0_8080.rbac.allowed", 1L);
    String m = Harness.metricsContaining(p, "response_code=\"403\",reporter=\"destination\"");
    assertThat(m).contains("istio_requests_total{response_code=\"403\",reporter=\"destination\"");
  }

  @Test
  void denyWinsOverAllowAndAnAllowPolicyWithoutRulesAllowsNothing() throws Exception {
    Stub app = h.stub("order");
    String both =
        policy(
                "allow-all",
                """
                  selector: {matchLabels: {app: order-service}}
                  rules: [{}]
                """)
            + policy(
                "deny-admin",
                """
                  action: DENY
                  rules: [{to: [{operation: {paths: [/admin*]}}]}]
                """);
    Proxy p = orderSidecar(both, app);
    assertThat(call(p, "GET", "/orders/1")).startsWith("HTTP/1.1 200");
    assertThat(call(p, "GET", "/admin/stats")).startsWith("HTTP/1.1 403");
    h.close();
    h = new Harness();
    Stub app2 = h.stub("order");
    Proxy nothing = orderSidecar(policy("allow-nothing", "  {}\n"), app2);
    assertThat(call(nothing, "GET", "/orders/1")).startsWith("HTTP/1.1 403");
    assertThat(app2.count.get()).isZero();
  }

  @Test
  void aDryRunPolicyOnlyShadows() throws Exception {
    Stub app = h.stub("order");
    String yaml =
        "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
            + "metadata:\n  name: deny-all-dry\n  namespace: default\n"
            + "  annotations: {istio.io/dry-run: \"true\"}\n"
            + "spec:\n  action: DENY\n  rules: [{}]\n";
    Proxy p = orderSidecar(yaml, app);
    assertThat(call(p, "GET", "/orders/1")).startsWith("HTTP/1.1 200");
    assertThat(app.count.get()).isEqualTo(1);
    assertThat(p.metrics().counters())
        .containsEntry("http.inbound_0.0.0.0_8080.rbac.istio_dry_run_deny_shadow_denied", 1L)
        .doesNotContainKey("http.inbound_0.0.0.0_8080.rbac.denied");
  }

  @Test
  void aTcpChainWithADenyingRbacClosesTheConnection() throws Exception {
    TcpProxyTest.Echo echo =
        h.closeLater(
            new TcpProxyTest.Echo(
                new ServerSocket(0, 50, InetAddress.getLoopbackAddress()), "echo", false));
    // the network RBAC filter as the translator builds it for a DENY of callers from 127.0.0.1
    String deny =
        policy(
            "deny-tcp",
            """
              action: DENY
              rules: [{from: [{source: {ipBlocks: [127.0.0.1/32]}}]}]
            """);
    MeshConfig config = load(deny);
    List<Filter> rbac =
        RbacBuilder.forWorkload(config, "istio-system", Map.of("istio", "ingressgateway"))
            .buildTcp();
    assertThat(rbac).isEmpty(); // a default-namespace policy does not select the gateway
    MeshConfig mesh = load(deny.replace("namespace: default", "namespace: istio-system"));
    rbac =
        RbacBuilder.forWorkload(mesh, "istio-system", Map.of("istio", "ingressgateway")).buildTcp();
    assertThat(rbac).hasSize(1);
    ProxyOptions o =
        Harness.sidecarOptions(
            "istio-ingressgateway-0", "istio-ingressgateway", "127.0.0.1", Map.of());
    o.role = ProxyOptions.Role.ROUTER;
    o.namespace = "istio-system";
    o.listenerBind.put(31400, "127.0.0.1:0");
    o.listenerBind.put(31401, "127.0.0.1:0");
    Proxy gw = h.start(o);
    String cluster = outbound(9000, "", "echo" + SUFFIX);
    FilterChain denied =
        TcpProxyTest.tcpChain("tcp", FilterChainMatch.newBuilder(), TcpProxyTest.toCluster(cluster))
            .toBuilder()
            .clearFilters()
            .addAllFilters(rbac)
            .addAllFilters(
                TcpProxyTest.tcpChain(
                        "tcp", FilterChainMatch.newBuilder(), TcpProxyTest.toCluster(cluster))
                    .getFiltersList())
            .build();
    gw.apply(
        List.of(edsCluster(cluster, "echo" + SUFFIX, "echo")),
        List.of(
            cla(
                cluster,
                false,
                "echo-v1;default;echo;v1;Kubernetes",
                "127.0.0.1:" + echo.ss.getLocalPort())),
        List.of(
            TcpProxyTest.tcpListener("0.0.0.0_31400", 31400, denied),
            TcpProxyTest.tcpListener(
                "0.0.0.0_31401",
                31401,
                TcpProxyTest.tcpChain(
                    "tcp", FilterChainMatch.newBuilder(), TcpProxyTest.toCluster(cluster)))),
        List.of());
    // the chain with the RBAC filter closes the connection, the one without passes it on
    assertThat(TcpProxyTest.exchange(gw.port("0.0.0.0_31400"), "hello")).isEmpty();
    assertThat(TcpProxyTest.exchange(gw.port("0.0.0.0_31401"), "hello")).isEqualTo("echo:hello");
  }
}
