package io.shopmesh.mesh.proxy;

import static io.shopmesh.mesh.proxy.Shapes.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * gateway -> frontend sidecar -> frontend app; frontend sidecar -> product sidecar -> product app.
 */
class MeshTelemetryTest {
  static final String PRODUCT = "product-service" + SUFFIX;
  static final String V1 = outbound(8080, "v1", PRODUCT);

  Harness h;
  Stub productApp;
  Stub frontendApp;
  Proxy product;
  Proxy frontend;
  Proxy gateway;

  @BeforeEach
  void setUp() throws Exception {
    h = new Harness();
    productApp = h.stub("product-v1-body");
    frontendApp = h.stub("frontend-body");
    product =
        h.start(
            Harness.sidecarOptions(
                "product-service-v1-7c9d8-x2k4p",
                "product-service-v1",
                "127.0.0.1",
                Map.of("app", "product-service", "version", "v1")));
    frontend =
        h.start(
            Harness.sidecarOptions(
                "frontend-6b7f9-qq1w2", "frontend", "127.0.0.1", Map.of("app", "frontend")));
    ProxyOptions g =
        Harness.sidecarOptions(
            "istio-ingressgateway-5f8d7-abcde",
            "istio-ingressgateway",
            "127.0.0.1",
            Map.of("istio", "ingressgateway", "app", "istio-ingressgateway"));
    g.role = ProxyOptions.Role.ROUTER;
    g.namespace = "istio-system";
    g.listenerBind.put(8080, "127.0.0.1:0");
    gateway = h.start(g);

    product.apply(
        List.of(inboundCluster(8080, "127.0.0.1", productApp.port(), "product-service")),
        List.of(),
        List.of(virtualInbound(8080)),
        List.of());
    // The frontend's pods are reached through their sidecar's inbound port.
    frontend.node().options().peerInboundPort = product.port("inbound");
    RouteConfiguration rc =
        routeConfig(
            "8080",
            serviceVhost(
                "product-service",
                8080,
                route("product-vs", prefix("/"), toCluster(V1, 5000).build())));
    frontend.apply(
        List.of(
            edsCluster(V1, PRODUCT, "product-service"),
            inboundCluster(80, "127.0.0.1", frontendApp.port(), "frontend")),
        List.of(
            cla(
                V1,
                true,
                "product-service-v1;default;product-service;v1;Kubernetes",
                "127.0.0.1:8080")),
        List.of(virtualInbound(80)),
        List.of(rc));
    // Gateway: listener 0.0.0.0_8080 -> http.8080 -> shop.example.com -> frontend:80.
    String fe = outbound(80, "", "frontend" + SUFFIX);
    RouteConfiguration grc =
        routeConfig(
            "http.8080",
            VirtualHost.newBuilder()
                .setName("shop.example.com:80")
                .addDomains("shop.example.com")
                .addDomains("shop.example.com:*")
                .addRoutes(route("frontend-vs", prefix("/"), toCluster(fe, 0).build()))
                .build());
    gateway.node().options().peerInboundPort = frontend.port("inbound");
    gateway.apply(
        List.of(edsCluster(fe, "frontend" + SUFFIX, "frontend")),
        List.of(cla(fe, true, "frontend;default;frontend;latest;Kubernetes", "127.0.0.1:80")),
        List.of(
            listener(
                "0.0.0.0_8080", "0.0.0.0", 8080, hcmRds("http.8080", "outbound_0.0.0.0_8080"))),
        List.of(grc));
  }

  @AfterEach
  void tearDown() {
    h.close();
  }

  @Test
  void metricLineForOneRequestIsIstios() throws Exception {
    HttpResponse<String> r =
        Harness.get(Harness.viaProxy(frontend), "http://product-service:8080/api/products");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("product-v1-body");
    // Peer metadata never reaches the apps.
    assertThat(productApp.headers.get(0).names())
        .noneMatch(n -> n.startsWith("x-envoy-peer-metadata"));
    assertThat(productApp.headers.get(0).get("x-envoy-original-dst-host")).isNull();
    assertThat(r.headers().map().keySet()).noneMatch(n -> n.startsWith("x-envoy-peer-metadata"));

    String common =
        "source_workload=\"frontend\",source_workload_namespace=\"default\","
            + "source_principal=\"unknown\",source_app=\"frontend\",source_version=\"unknown\","
            + "source_cluster=\"Kubernetes\",destination_workload=\"product-service-v1\","
            + "destination_workload_namespace=\"default\",destination_principal=\"unknown\","
            + "destination_app=\"product-service\",destination_version=\"v1\","
            + "destination_service=\"product-service.default.svc.cluster.local\","
            + "destination_service_name=\"product-service\",destination_service_namespace=\"default\","
            + "destination_cluster=\"Kubernetes\",request_protocol=\"http\",response_flags=\"-\","
            + "grpc_response_status=\"\",connection_security_policy=\"%s\","
            + "source_canonical_service=\"frontend\",destination_canonical_service=\"product-service\","
            + "source_canonical_revision=\"latest\",destination_canonical_revision=\"v1\"";
    String source =
        "istio_requests_total{response_code=\"200\",reporter=\"source\","
            + String.format(common, "unknown")
            + "} 1";
    String destination =
        "istio_requests_total{response_code=\"200\",reporter=\"destination\","
            + String.format(common, "none")
            + "} 1";
    assertThat(Harness.metricsContaining(frontend, source).lines()).contains(source);
    assertThat(Harness.metricsContaining(product, destination).lines()).contains(destination);
    assertThat(frontend.metrics().prometheus())
        .contains(
            "istio_request_duration_milliseconds_bucket{response_code=\"200\",reporter=\"source\"")
        .contains("le=\"0.5\"")
        .contains("istio_request_bytes_count{")
        .contains("istio_response_bytes_sum{");
    // the byte histograms have Envoy's default buckets, as Istio's bootstrap leaves them
    List<String> byteBuckets =
        frontend
            .metrics()
            .prometheus()
            .lines()
            .filter(l -> l.startsWith("istio_response_bytes_bucket{"))
            .map(l -> l.replaceAll(".*le=\"([^\"]+)\".*", "$1"))
            .distinct()
            .toList();
    assertThat(byteBuckets)
        .containsExactly(
            "0.5", "1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000", "10000",
            "30000", "60000", "300000", "600000", "1800000", "3600000", "+Inf");
  }

  @Test
  void gatewayRoutesByHostAnd404sUnknownHosts() throws Exception {
    int port = gateway.port("0.0.0.0_8080");
    HttpClient c = Harness.direct();
    HttpResponse<String> ok =
        Harness.get(c, "http://127.0.0.1:" + port + "/products", "x-forwarded-for", "10.0.0.9");
    // java.net.http cannot set Host: use the raw socket for the matching host.
    String raw =
        Harness.raw(
            "127.0.0.1",
            port,
            "GET /products HTTP/1.1\r\nHost: shop.example.com\r\n" + "Connection: close\r\n\r\n");
    assertThat(raw)
        .startsWith("HTTP/1.1 200")
        .contains("server: istio-envoy")
        .contains("x-envoy-upstream-service-time")
        .contains("frontend-body");
    assertThat(frontendApp.headers.get(0).get("x-forwarded-for")).isEqualTo("127.0.0.1");
    assertThat(ok.statusCode()).isEqualTo(404);
    assertThat(ok.headers().firstValue("server")).contains("istio-envoy");
    assertThat(gateway.metrics().prometheus())
        .contains("response_flags=\"NR\"")
        .contains(
            "reporter=\"source\",source_workload=\"istio-ingressgateway\","
                + "source_workload_namespace=\"istio-system\"");
    // Destination side telemetry at the frontend sidecar knows the gateway as its source.
    assertThat(
            Harness.metricsContaining(
                frontend, "reporter=\"destination\"," + "source_workload=\"istio-ingressgateway\""))
        .contains("reporter=\"destination\"," + "source_workload=\"istio-ingressgateway\"");
  }

  @Test
  void inboundPicksFilterChainByOriginalDestinationPort() throws Exception {
    int inbound = product.port("inbound");
    String ok =
        Harness.raw(
            "127.0.0.1",
            inbound,
            "GET /x HTTP/1.1\r\nHost: product-service:8080\r\n"
                + "x-envoy-original-dst-host: 127.0.0.1:8080\r\nConnection: close\r\n\r\n");
    assertThat(ok).startsWith("HTTP/1.1 200").contains("product-v1-body");
    String none =
        Harness.raw(
            "127.0.0.1",
            inbound,
            "GET /x HTTP/1.1\r\nHost: product-service:9090\r\n"
                + "x-envoy-original-dst-host: 127.0.0.1:9090\r\nConnection: close\r\n\r\n");
    assertThat(none).startsWith("HTTP/1.1 404");
  }

  @Test
  void h2cDownstreamIsServed() throws Exception {
    HttpClient h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
    HttpResponse<String> r =
        Harness.get(
            h2,
            "http://127.0.0.1:" + product.port("inbound") + "/x",
            "x-envoy-original-dst-host",
            "127.0.0.1:8080");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("product-v1-body");
    assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
  }
}
