package io.shopmesh.mesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.shopmesh.mesh.istiod.DirectoryConfigSource;
import io.shopmesh.mesh.istiod.Istiod;
import io.shopmesh.mesh.proxy.sds.WorkloadSecrets;
import io.vertx.core.Vertx;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.TrustOptions;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proxies as their own istio-agent against the real istiod: workload certificates with the
 * registry's SPIFFE ids over the real gRPC CA, mutual TLS between two proxies' secrets (client
 * certificate required and verified against ROOTCA, the server's SPIFFE id checked), and rotation
 * at half life under a bounded loop of new connections with no failure.
 */
class WorkloadCertificateTest {
  @TempDir Path dir;
  Istiod istiod;
  final List<Proxy> proxies = new ArrayList<>();

  static final String PRODUCT_ID = "spiffe://cluster.local/ns/default/sa/shop-product";
  static final String FRONTEND_ID = "spiffe://cluster.local/ns/default/sa/shop-frontend";

  @AfterEach
  void tearDown() throws Exception {
    proxies.forEach(Proxy::close);
    if (istiod != null) {
      istiod.close();
    }
  }

  private void startIstiod() throws Exception {
    Path config = Files.createDirectories(dir.resolve("config"));
    Path registry = dir.resolve("registry.json");
    Files.writeString(
        registry,
        """
        {"source": "test", "pods": [
          {"name": "product-service-v1-1", "namespace": "default", "ip": "127.0.0.1",
           "workload": "product-service-v1", "labels": {"app": "product-service"},
           "ports": [{"containerPort": 8080}], "sidecar": true, "ready": true,
           "serviceAccount": "shop-product"},
          {"name": "frontend-1", "namespace": "default", "ip": "127.0.0.1",
           "workload": "frontend", "labels": {"app": "frontend"},
           "ports": [{"containerPort": 80}], "sidecar": true, "ready": true,
           "serviceAccount": "shop-frontend"}
        ]}
        """);
    istiod = new Istiod(new DirectoryConfigSource(config), registry).start("127.0.0.1", 0, 0);
  }

  private Proxy sidecar(String pod, String workload, Duration ttl) throws Exception {
    ProxyOptions o = Harness.sidecarOptions(pod, workload, "127.0.0.1", Map.of("app", workload));
    o.istiod = "127.0.0.1:" + istiod.xdsPort();
    o.caAddress = o.istiod;
    o.workloadCertTtl = ttl;
    Proxy p = new Proxy(o);
    proxies.add(p);
    p.start(true);
    return p;
  }

  private static SSLContext tls(WorkloadSecrets s, List<String> peerIds) throws Exception {
    SSLContext ctx = SSLContext.getInstance("TLSv1.3");
    ctx.init(
        new KeyManager[] {s.keyManager()},
        new TrustManager[] {s.trustManager(peerIds)},
        new SecureRandom());
    return ctx;
  }

  /** An mTLS echo server on the product proxy's secrets, requiring a client certificate. */
  private static final class Server implements AutoCloseable {
    final SSLServerSocket socket;
    final AtomicReference<String> lastPeer = new AtomicReference<>();
    final Thread thread;

    Server(SSLContext ctx) throws IOException {
      socket = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0);
      socket.setNeedClientAuth(true);
      thread =
          new Thread(
              () -> {
                while (!socket.isClosed()) {
                  try {
                    SSLSocket c = (SSLSocket) socket.accept();
                    new Thread(
                            () -> {
                              try (c) {
                                c.startHandshake();
                                X509Certificate peer =
                                    (X509Certificate) c.getSession().getPeerCertificates()[0];
                                lastPeer.set(WorkloadSecrets.spiffeId(peer));
                                InputStream in = c.getInputStream();
                                OutputStream out = c.getOutputStream();
                                out.write(in.read());
                                out.flush();
                              } catch (IOException e) {
                                // a refused handshake: the client sees it
                              }
                            })
                        .start();
                  } catch (IOException e) {
                    return;
                  }
                }
              });
      thread.start();
    }

    int port() {
      return socket.getLocalPort();
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  /** One request over a new mTLS connection; returns the server's SPIFFE id. */
  private static String call(SSLContext ctx, int port) throws IOException {
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
      s.setSoTimeout(5000);
      s.startHandshake();
      s.getOutputStream().write('x');
      s.getOutputStream().flush();
      if (s.getInputStream().read() != 'x') {
        throw new IOException("no echo");
      }
      return WorkloadSecrets.spiffeId((X509Certificate) s.getSession().getPeerCertificates()[0]);
    }
  }

  @Test
  void mutualTlsBetweenTwoProxiesWithTheRegistrysIdentities() throws Exception {
    startIstiod();
    Proxy product = sidecar("product-service-v1-1", "product-service-v1", Duration.ZERO);
    Proxy frontend = sidecar("frontend-1", "frontend", Duration.ZERO);
    WorkloadSecrets.Secret ps = product.secrets().await(Duration.ofSeconds(20));
    WorkloadSecrets.Secret fs = frontend.secrets().await(Duration.ofSeconds(20));
    assertThat(ps).isNotNull();
    assertThat(fs).isNotNull();
    assertThat(ps.spiffeId()).isEqualTo(PRODUCT_ID);
    assertThat(fs.spiffeId()).isEqualTo(FRONTEND_ID);
    assertThat(ps.root()).isEqualTo(istiod.ca().root());
    ps.leaf().verify(istiod.ca().root().getPublicKey());
    assertThat(Duration.between(ps.issued(), ps.leaf().getNotAfter().toInstant()).toHours())
        .isEqualTo(23); // 24h less the seconds since issue

    // the admin config_dump's SecretsConfigDump, as istioctl proxy-config secret reads it
    String dump =
        Harness.get(
                HttpClient.newHttpClient(),
                "http://127.0.0.1:" + product.port("admin") + "/config_dump")
            .body();
    assertThat(dump)
        .contains("type.googleapis.com/envoy.admin.v3.SecretsConfigDump")
        .contains("\"name\": \"default\"", "\"name\": \"ROOTCA\"")
        .contains(ps.leaf().getSerialNumber().toString(16));
    assertThat(dump).doesNotContain("PRIVATE KEY");

    try (Server server = new Server(tls(product.secrets(), List.of()))) {
      // the frontend checks it reached the product's identity; the product sees the frontend's
      assertThat(call(tls(frontend.secrets(), List.of(PRODUCT_ID)), server.port()))
          .isEqualTo(PRODUCT_ID);
      assertThat(server.lastPeer.get()).isEqualTo(FRONTEND_ID);

      // expecting another identity than the server's: refused (SAN verification)
      SSLContext wrongSan =
          tls(frontend.secrets(), List.of("spiffe://cluster.local/ns/default/sa/x"));
      assertThatThrownBy(() -> call(wrongSan, server.port())).isInstanceOf(IOException.class);

      // a client with no certificate: the server requires one
      SSLContext noCert = SSLContext.getInstance("TLSv1.3");
      noCert.init(null, new TrustManager[] {frontend.secrets().trustManager(List.of())}, null);
      assertThatThrownBy(() -> call(noCert, server.port())).isInstanceOf(IOException.class);
    }
  }

  @Test
  void shortLivedCertificatesRotateWithoutAFailedRequest() throws Exception {
    startIstiod();
    Duration ttl = Duration.ofSeconds(4);
    Proxy product = sidecar("product-service-v1-1", "product-service-v1", ttl);
    Proxy frontend = sidecar("frontend-1", "frontend", ttl);
    assertThat(product.secrets().await(Duration.ofSeconds(20))).isNotNull();
    assertThat(frontend.secrets().await(Duration.ofSeconds(20))).isNotNull();

    SSLContext client = tls(frontend.secrets(), List.of(PRODUCT_ID));
    Set<String> serials = new HashSet<>();
    AtomicInteger ok = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    AtomicBoolean serialsDiffer = new AtomicBoolean();
    try (Server server = new Server(tls(product.secrets(), List.of(FRONTEND_ID)))) {
      long end = System.nanoTime() + Duration.ofSeconds(9).toNanos();
      // a bounded loop: at most 20000 requests in 9 s, each on a new connection
      for (int i = 0; i < 20_000 && System.nanoTime() < end; i++) {
        try {
          assertThat(call(client, server.port())).isEqualTo(PRODUCT_ID);
          ok.incrementAndGet();
        } catch (IOException e) {
          failed.incrementAndGet();
        }
        serials.add(product.secrets().current().leaf().getSerialNumber().toString(16));
      }
      serialsDiffer.set(serials.size() > 1);
    }
    long rotations = product.secrets().rotations() + frontend.secrets().rotations();
    System.out.printf(
        "rotation under load: %d requests on new mTLS connections, %d failed, %d rotations"
            + " (product %d, frontend %d), ttl %d s%n",
        ok.get() + failed.get(),
        failed.get(),
        rotations,
        product.secrets().rotations(),
        frontend.secrets().rotations(),
        ttl.toSeconds());
    assertThat(failed.get()).isZero();
    assertThat(ok.get()).isGreaterThan(20);
    assertThat(product.secrets().rotations()).isGreaterThanOrEqualTo(3);
    assertThat(frontend.secrets().rotations()).isGreaterThanOrEqualTo(3);
    assertThat(serialsDiffer).isTrue();
  }

  @Test
  void istioMutualDestinationRuleOriginatesMutualTlsWithTheWorkloadCertificate() throws Exception {
    Path config = Files.createDirectories(dir.resolve("config"));
    startIstiod();
    Proxy product = sidecar("product-service-v1-1", "product-service-v1", Duration.ZERO);
    assertThat(product.secrets().await(Duration.ofSeconds(20))).isNotNull();
    // the product pod's inbound side: TLS with its workload certificate, client certificate
    // required and verified against ROOTCA
    Vertx vertx = Vertx.vertx();
    AtomicReference<String> seen = new AtomicReference<>();
    try {
      HttpServer server =
          vertx
              .createHttpServer(
                  new HttpServerOptions()
                      .setSsl(true)
                      .setClientAuth(ClientAuth.REQUIRED)
                      .setKeyCertOptions(KeyCertOptions.wrap(product.secrets().keyManager()))
                      .setTrustOptions(
                          TrustOptions.wrap(product.secrets().trustManager(List.of()))))
              .requestHandler(
                  r -> {
                    try {
                      String id =
                          WorkloadSecrets.spiffeId(
                              (X509Certificate) r.connection().peerCertificates().get(0));
                      seen.set(id);
                      r.response().end("product-v1 " + id);
                    } catch (Exception e) {
                      r.response().setStatusCode(500).end(e.toString());
                    }
                  })
              .listen(0, "127.0.0.1")
              .toCompletionStage()
              .toCompletableFuture()
              .get(10, TimeUnit.SECONDS);
      Files.writeString(
          config.resolve("product.yaml"),
          """
          apiVersion: v1
          kind: Service
          metadata:
            name: product-service
          spec:
            ports:
            - port: 8080
              name: http
            selector:
              app: product-service
          ---
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata:
            name: product-service
          spec:
            host: product-service
            trafficPolicy:
              tls:
                mode: ISTIO_MUTUAL
                subjectAltNames:
                - %s
          """
              .formatted(PRODUCT_ID));
      ProxyOptions o =
          Harness.sidecarOptions("frontend-1", "frontend", "127.0.0.1", Map.of("app", "frontend"));
      o.istiod = "127.0.0.1:" + istiod.xdsPort();
      o.caAddress = o.istiod;
      o.peerInboundPort = server.actualPort();
      Proxy frontend = new Proxy(o);
      proxies.add(frontend);
      frontend.start(true);
      assertThat(frontend.secrets().await(Duration.ofSeconds(20))).isNotNull();
      HttpClient c = Harness.viaProxy(frontend);
      HttpResponse<String> r = null;
      for (int i = 0; i < 100; i++) {
        r = Harness.get(c, "http://product-service:8080/api/products");
        if (r.statusCode() == 200) {
          break;
        }
        Thread.sleep(100); // the DestinationRule reaching the proxy
      }
      assertThat(r.statusCode() + " " + r.body()).isEqualTo("200 product-v1 " + FRONTEND_ID);
      assertThat(seen.get()).isEqualTo(FRONTEND_ID);

      // a rule expecting another identity: the proxy refuses the product's certificate
      Files.writeString(
          config.resolve("product.yaml"),
          Files.readString(config.resolve("product.yaml"))
              .replace(PRODUCT_ID, "spiffe://cluster.local/ns/default/sa/other"));
      int refused = 0;
      for (int i = 0; i < 100 && refused == 0; i++) {
        if (Harness.get(c, "http://product-service:8080/api/products").statusCode() == 503) {
          refused++;
        } else {
          Thread.sleep(100);
        }
      }
      assertThat(refused).isEqualTo(1);
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }
}
