package io.shopmesh.mesh.proxy;

import static io.shopmesh.mesh.proxy.Shapes.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A Gateway HTTPS server (tls.mode SIMPLE, credentialName): the gateway terminates TLS. */
class GatewayTlsTest {
  @TempDir Path tmp;
  Harness h = new Harness();

  @AfterEach
  void tearDown() {
    h.close();
  }

  @Test
  void gatewayTerminatesTlsWithTheCredentialFromCertsRoot() throws Exception {
    // credentialName shop-cert -> /etc/certs/shop-cert/tls.crt and tls.key (read from --certs-root)
    Path dir = tmp.resolve("certs/shop-cert");
    Files.createDirectories(dir);
    KeyStore ks =
        TestCertificates.load(
            TestCertificates.selfSigned(
                tmp.resolve("shop.p12"), "s", "CN=shop.example.com", "dns:shop.example.com"));
    Base64.Encoder b64 = Base64.getMimeEncoder(64, "\n".getBytes());
    Files.writeString(
        dir.resolve("tls.crt"),
        "-----BEGIN CERTIFICATE-----\n"
            + b64.encodeToString(ks.getCertificate("s").getEncoded())
            + "\n-----END CERTIFICATE-----\n");
    Files.writeString(
        dir.resolve("tls.key"),
        "-----BEGIN PRIVATE KEY-----\n"
            + b64.encodeToString(ks.getKey("s", "changeit".toCharArray()).getEncoded())
            + "\n-----END PRIVATE KEY-----\n");

    Stub frontend = h.stub("frontend-body");
    ProxyOptions o =
        Harness.sidecarOptions(
            "istio-ingressgateway-5f8d7-abcde",
            "istio-ingressgateway",
            "127.0.0.1",
            Map.of("istio", "ingressgateway"));
    o.role = ProxyOptions.Role.ROUTER;
    o.namespace = "istio-system";
    o.certsRoot = tmp.resolve("certs");
    o.listenerBind.put(8443, "127.0.0.1:0");
    Proxy gw = h.start(o);
    String fe = outbound(80, "", "frontend" + SUFFIX);
    DownstreamTlsContext tls =
        DownstreamTlsContext.newBuilder()
            .setCommonTlsContext(
                CommonTlsContext.newBuilder()
                    .addAlpnProtocols("h2")
                    .addAlpnProtocols("http/1.1")
                    .addTlsCertificates(
                        TlsCertificate.newBuilder()
                            .setCertificateChain(
                                DataSource.newBuilder().setFilename("/etc/certs/shop-cert/tls.crt"))
                            .setPrivateKey(
                                DataSource.newBuilder()
                                    .setFilename("/etc/certs/shop-cert/tls.key"))))
            .build();
    String rc = "https.443.https.ecommerce-gateway.default";
    Listener l = listener("0.0.0.0_8443", "0.0.0.0", 8443, hcmRds(rc, "outbound_0.0.0.0_8443"));
    l =
        l.toBuilder()
            .setFilterChains(
                0,
                l.getFilterChains(0).toBuilder()
                    .setFilterChainMatch(
                        FilterChainMatch.newBuilder().addServerNames("shop.example.com"))
                    .setTransportSocket(
                        TransportSocket.newBuilder()
                            .setName("envoy.transport_sockets.tls")
                            .setTypedConfig(Any.pack(tls))))
            .build();
    gw.apply(
        List.of(edsCluster(fe, "frontend" + SUFFIX, "frontend")),
        List.of(cla(fe, false, null, frontend.hostPort())),
        List.of(l),
        List.of(
            routeConfig(
                rc,
                VirtualHost.newBuilder()
                    .setName("shop.example.com:443")
                    .addDomains("shop.example.com")
                    .addDomains("shop.example.com:*")
                    .addRoutes(route("frontend-vs", prefix("/"), toCluster(fe, 0).build()))
                    .build())));

    HttpClient c =
        h.vertx.createHttpClient(
            new HttpClientOptions()
                .setSsl(true)
                .setTrustAll(true)
                .setVerifyHost(false)
                .setForceSni(true));
    String body =
        c.request(
                new RequestOptions()
                    .setMethod(HttpMethod.GET)
                    .setServer(
                        SocketAddress.inetSocketAddress(gw.port("0.0.0.0_8443"), "127.0.0.1"))
                    .setHost("shop.example.com")
                    .setPort(443)
                    .setURI("/products"))
            .compose(
                r ->
                    r.send()
                        .compose(
                            resp ->
                                resp.body()
                                    .map(
                                        b ->
                                            resp.statusCode()
                                                + " "
                                                + resp.getHeader("server")
                                                + " "
                                                + b)))
            .toCompletionStage()
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
    assertThat(body).isEqualTo("200 istio-envoy frontend-body");
    assertThat(frontend.headers.get(0).get("x-forwarded-proto")).isEqualTo("https");
  }
}
