package io.shopmesh.mesh.proxy;

import static io.shopmesh.mesh.proxy.Shapes.SUFFIX;
import static io.shopmesh.mesh.proxy.Shapes.cla;
import static io.shopmesh.mesh.proxy.Shapes.edsCluster;
import static io.shopmesh.mesh.proxy.Shapes.outbound;
import static io.shopmesh.mesh.proxy.Shapes.prefix;
import static io.shopmesh.mesh.proxy.Shapes.route;
import static io.shopmesh.mesh.proxy.Shapes.routeConfig;
import static io.shopmesh.mesh.proxy.Shapes.serviceVhost;
import static io.shopmesh.mesh.proxy.Shapes.toCluster;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Virtual host selection by Host as Envoy does it: the port is part of the host unless the route
 * config sets {@code ignore_port_in_host_matching} (Istio's sidecar and gateway route configs).
 */
class HostMatchingTest {
  static final String HOST = "product-service" + SUFFIX;
  static final String V1 = outbound(8080, "v1", HOST);
  static final String LEGACY = outbound(9090, "", "legacy" + SUFFIX);

  static Harness h;
  static Proxy proxy;
  static Stub v1;
  static Stub legacy;

  @BeforeAll
  static void setUp() throws Exception {
    h = new Harness();
    v1 = h.stub("v1");
    legacy = h.stub("legacy");
    proxy =
        h.start(
            Harness.sidecarOptions(
                "frontend-5d4f-abcde", "frontend", "127.0.0.1", Map.of("app", "frontend")));
    // "8080" in Istio's shape: domains without ports, ignore_port_in_host_matching
    RouteConfiguration ignoring =
        routeConfig(
            "8080",
            serviceVhost(
                "product-service", 8080, route("default", prefix("/"), toCluster(V1, 0).build())));
    // "9090" keeps Envoy's default: the port is matched as part of the host
    RouteConfiguration exact =
        RouteConfiguration.newBuilder()
            .setName("9090")
            .setValidateClusters(BoolValue.of(false))
            .addVirtualHosts(
                VirtualHost.newBuilder()
                    .setName("legacy:9090")
                    .addDomains("legacy")
                    .addDomains("with-port:9090")
                    .addRoutes(route("default", prefix("/"), toCluster(LEGACY, 0).build())))
            .build();
    proxy.apply(
        List.of(
            edsCluster(V1, HOST, "product-service"),
            edsCluster(LEGACY, "legacy" + SUFFIX, "legacy")),
        List.of(cla(V1, false, null, v1.hostPort()), cla(LEGACY, false, null, legacy.hostPort())),
        List.of(),
        List.of(ignoring, exact));
  }

  @AfterAll
  static void tearDown() {
    h.close();
  }

  @BeforeEach
  void reset() {
    v1.count.set(0);
    legacy.count.set(0);
  }

  static String get(String authority) throws Exception {
    return Harness.raw(
        "127.0.0.1",
        proxy.port("outbound"),
        "GET http://"
            + authority
            + "/x HTTP/1.1\r\nHost: "
            + authority
            + "\r\nConnection: close\r\n\r\n");
  }

  @Test
  void portIsIgnoredWhenTheRouteConfigSaysSo() throws Exception {
    assertThat(get("product-service:8080")).startsWith("HTTP/1.1 200");
    assertThat(get("product-service.default.svc:8080")).startsWith("HTTP/1.1 200");
    // the absolute FQDN Istio adds as a domain (trailing dot)
    assertThat(get("product-service.default.svc.cluster.local.:8080")).startsWith("HTTP/1.1 200");
    assertThat(v1.count.get()).isEqualTo(3);
  }

  @Test
  void portIsPartOfTheHostOtherwise() throws Exception {
    // no fallback that strips the port: "legacy:9090" is not the domain "legacy"
    String r = get("legacy:9090");
    assertThat(r).startsWith("HTTP/1.1 404");
    assertThat(Harness.metricsContaining(proxy, "response_flags=\"NR\""))
        .contains("response_flags=\"NR\"");
    assertThat(get("with-port:9090")).startsWith("HTTP/1.1 200");
    assertThat(legacy.count.get()).isEqualTo(1);
  }
}
