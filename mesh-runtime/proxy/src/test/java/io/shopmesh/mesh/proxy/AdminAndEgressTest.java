package io.shopmesh.mesh.proxy;

import static io.shopmesh.mesh.proxy.Shapes.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.admin.v3.ConfigDump;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.shopmesh.mesh.proxy.admin.ConfigDumper;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PfxOptions;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Admin endpoints, readiness, config dump, access log; egress TLS origination over a DNS cluster.
 */
class AdminAndEgressTest {
  static final String HOST = "product-service" + SUFFIX;
  static final String V1 = outbound(8080, "v1", HOST);

  @TempDir Path tmp;
  Harness h;
  Proxy proxy;
  Stub app;
  HttpClient direct = Harness.direct();

  @BeforeEach
  void setUp() throws Exception {
    h = new Harness();
    app = h.stub("v1");
  }

  @AfterEach
  void tearDown() {
    h.close();
  }

  String admin(String path) throws Exception {
    return Harness.get(direct, "http://127.0.0.1:" + proxy.port("admin") + path).body();
  }

  @Test
  void readinessConfigDumpClustersStatsAndAccessLog() throws Exception {
    ProxyOptions o =
        Harness.sidecarOptions(
            "frontend-5d4f-abcde", "frontend", "127.0.0.1", Map.of("app", "frontend"));
    Path log = tmp.resolve("access.log");
    o.accessLog = log.toString();
    proxy = h.start(o);
    String ready = "http://127.0.0.1:" + proxy.port("ready") + "/healthz/ready";
    assertThat(Harness.get(direct, ready).statusCode()).isEqualTo(503);
    proxy.apply(
        List.of(edsCluster(V1, HOST, "product-service")),
        List.of(cla(V1, false, null, app.hostPort())),
        List.of(listener("0.0.0.0_8080", "0.0.0.0", 8080, hcmRds("8080", "outbound_0.0.0.0_8080"))),
        List.of(
            routeConfig(
                "8080",
                serviceVhost(
                    "product-service",
                    8080,
                    route("product-vs", prefix("/"), toCluster(V1, 5000).build())))));
    assertThat(Harness.get(direct, ready).statusCode()).isEqualTo(200);
    HttpResponse<String> r =
        Harness.get(
            Harness.viaProxy(proxy),
            "http://product-service:8080/api/products",
            "user-agent",
            "test-agent",
            "x-request-id",
            "req-1");
    assertThat(r.statusCode()).isEqualTo(200);

    // The config dump parses back as Envoy's ConfigDump, with the sections istioctl reads.
    String json = admin("/config_dump");
    ConfigDump.Builder cd = ConfigDump.newBuilder();
    JsonFormat.parser().usingTypeRegistry(registry()).merge(json, cd);
    List<String> types = cd.getConfigsList().stream().map(Any::getTypeUrl).toList();
    assertThat(types)
        .contains(
            "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump",
            "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
            "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",
            "type.googleapis.com/envoy.admin.v3.RoutesConfigDump");
    JsonObject parsed = new JsonObject(json);
    assertThat(parsed.getJsonArray("configs").encode())
        .contains("\"dynamic_active_clusters\"")
        .contains("\"name\":\"" + V1 + "\"")
        .contains("\"dynamic_route_configs\"")
        .contains("\"dynamic_listeners\"");

    Harness.metricsContaining(proxy, "response_code=\"200\"");
    assertThat(admin("/clusters"))
        .contains(V1 + "::" + app.hostPort() + "::rq_total::1")
        .contains(V1 + "::" + app.hostPort() + "::health_flags::healthy");
    assertThat(
            new JsonObject(
                    Harness.get(
                            direct,
                            "http://127.0.0.1:" + proxy.port("admin") + "/clusters?format=json")
                        .body())
                .getJsonArray("cluster_statuses")
                .size())
        .isEqualTo(1);
    assertThat(admin("/stats")).contains("cluster." + V1 + ".upstream_rq_total: 1");
    assertThat(
            Harness.get(direct, "http://127.0.0.1:" + proxy.port("stats") + "/stats/prometheus")
                .body())
        .contains("istio_requests_total{response_code=\"200\",reporter=\"source\"");
    // a client that offers `Upgrade: h2c` (java.net.http's default) gets a plain HTTP/1.1 answer
    HttpClient upgrading = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
    for (String port : List.of("stats", "admin", "ready")) {
      String path =
          port.equals("ready")
              ? "/healthz/ready"
              : port.equals("stats") ? "/stats/prometheus" : "/stats";
      HttpResponse<String> up =
          Harness.get(upgrading, "http://127.0.0.1:" + proxy.port(port) + path);
      assertThat(up.statusCode()).as(port).isEqualTo(200);
      assertThat(up.version()).as(port).isEqualTo(HttpClient.Version.HTTP_1_1);
    }

    String line = null;
    for (int i = 0; i < 50 && line == null; i++) {
      Thread.sleep(50);
      List<String> lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
      line = lines.isEmpty() ? null : lines.get(0);
    }
    assertThat(line)
        .matches(
            "\\[\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\] "
                + "\"GET /api/products HTTP/1.1\" 200 - via_upstream - \"-\" 0 2 \\d+ \\d+ \"-\" \"test-agent\" "
                + "\"req-1\" \"product-service:8080\" \""
                + app.hostPort().replace(".", "\\.")
                + "\" "
                + java.util.regex.Pattern.quote(V1)
                + " .*product-vs$");
  }

  static JsonFormat.TypeRegistry registry() {
    return JsonFormat.TypeRegistry.newBuilder()
        .add(io.envoyproxy.envoy.admin.v3.BootstrapConfigDump.getDescriptor())
        .add(io.envoyproxy.envoy.admin.v3.ClustersConfigDump.getDescriptor())
        .add(io.envoyproxy.envoy.admin.v3.ListenersConfigDump.getDescriptor())
        .add(io.envoyproxy.envoy.admin.v3.RoutesConfigDump.getDescriptor())
        .add(io.envoyproxy.envoy.admin.v3.EndpointsConfigDump.getDescriptor())
        .add(Cluster.getDescriptor())
        .add(io.envoyproxy.envoy.config.listener.v3.Listener.getDescriptor())
        .add(io.envoyproxy.envoy.config.route.v3.RouteConfiguration.getDescriptor())
        .add(io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.getDescriptor())
        .add(
            io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3
                .HttpConnectionManager.getDescriptor())
        .build();
  }

  @Test
  void tlsOriginationToDnsServiceEntryThroughHostsFileAndPortOffset() throws Exception {
    // A provider certificate for api.payment-provider.com, and its CA file under --certs-root.
    Path p12 = tmp.resolve("provider.p12");
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    run(
        keytool,
        "-genkeypair",
        "-alias",
        "p",
        "-keyalg",
        "RSA",
        "-keysize",
        "2048",
        "-dname",
        "CN=api.payment-provider.com",
        "-ext",
        "SAN=dns:api.payment-provider.com",
        "-validity",
        "2",
        "-storetype",
        "PKCS12",
        "-keystore",
        p12.toString(),
        "-storepass",
        "changeit");
    Path certs = tmp.resolve("certs");
    Files.createDirectories(certs.resolve("payment-provider"));
    run(
        keytool,
        "-exportcert",
        "-rfc",
        "-alias",
        "p",
        "-keystore",
        p12.toString(),
        "-storepass",
        "changeit",
        "-file",
        certs.resolve("payment-provider/ca.crt").toString());
    HttpServer tls =
        h.vertx
            .createHttpServer(
                new HttpServerOptions()
                    .setSsl(true)
                    .setSni(true)
                    .setKeyCertOptions(
                        new PfxOptions().setPath(p12.toString()).setPassword("changeit")))
            .requestHandler(
                req ->
                    req.response()
                        .end(
                            "paid via "
                                + (req.isSSL() ? "tls" : "plain")
                                + " sni="
                                + req.connection().indicatedServerName()
                                + " host="
                                + req.headers().get("host")));
    tls.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    Path hosts = tmp.resolve("hosts");
    Files.writeString(hosts, "127.0.0.1 api.payment-provider.com\n");

    ProxyOptions o =
        Harness.sidecarOptions("order-service-7d9-abcde", "order-service", "127.0.0.1", Map.of());
    o.hostsFile = hosts;
    o.certsRoot = certs;
    o.localPortOffset = tls.actualPort() - 443;
    proxy = h.start(o);
    String cluster = "outbound|80||api.payment-provider.com";
    UpstreamTlsContext ctx =
        UpstreamTlsContext.newBuilder()
            .setSni("api.payment-provider.com")
            .setCommonTlsContext(
                CommonTlsContext.newBuilder()
                    .setValidationContext(
                        CertificateValidationContext.newBuilder()
                            .setTrustedCa(
                                DataSource.newBuilder()
                                    .setFilename("/etc/certs/payment-provider/ca.crt"))))
            .build();
    Cluster c =
        staticCluster(cluster, "api.payment-provider.com", 443).toBuilder()
            .setType(Cluster.DiscoveryType.STRICT_DNS)
            .setTransportSocket(
                TransportSocket.newBuilder()
                    .setName("envoy.transport_sockets.tls")
                    .setTypedConfig(Any.pack(ctx)))
            .build();
    var vh =
        io.envoyproxy.envoy.config.route.v3.VirtualHost.newBuilder()
            .setName("api.payment-provider.com:80")
            .addDomains("api.payment-provider.com")
            .addDomains("api.payment-provider.com:80")
            .addRoutes(
                route(
                    "payment-vs",
                    prefix("/"),
                    toCluster(cluster, 10_000)
                        .setRetryPolicy(
                            retry(3, 2000, "connect-failure,refused-stream,gateway-error,5xx"))
                        .build()))
            .build();
    proxy.apply(List.of(c), List.of(), List.of(), List.of(routeConfig("80", vh)));
    HttpResponse<String> r =
        Harness.get(Harness.viaProxy(proxy), "http://api.payment-provider.com/pay");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body())
        .isEqualTo("paid via tls sni=api.payment-provider.com host=api.payment-provider.com");
    assertThat(admin("/clusters"))
        .contains(cluster + "::127.0.0.1:443::hostname::api.payment-provider.com");
  }

  static void run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
  }

  @Test
  void configDumpPrintsWithTypeRegistry() throws Exception {
    proxy = h.start(Harness.sidecarOptions("x-1-2", "x", "127.0.0.1", Map.of()));
    proxy.apply(
        List.of(edsCluster(V1, HOST, "product-service")),
        List.of(),
        List.of(virtualInbound(8080)),
        List.of());
    String json = new ConfigDumper(proxy.state(), proxy.node()).json(true);
    assertThat(json)
        .contains("\"@type\": \"type.googleapis.com/envoy.admin.v3.ListenersConfigDump\"")
        .contains("virtualInbound")
        .contains("inbound|8080||")
        .contains(
            "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager");
  }
}
