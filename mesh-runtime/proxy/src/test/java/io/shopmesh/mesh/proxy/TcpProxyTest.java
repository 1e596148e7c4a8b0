package io.shopmesh.mesh.proxy;

import static io.shopmesh.mesh.proxy.Shapes.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.shopmesh.mesh.proxy.stats.IstioMetrics;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TCP and TLS passthrough through a gateway's listeners on loopback sockets: tcp_proxy chains,
 * weighted clusters, SNI-selected passthrough chains with TLS untouched, no matching chain,
 * BlackHoleCluster, idle timeout, max_connections, half-close, Istio's TCP metrics.
 */
class TcpProxyTest {
  @TempDir Path tmp;
  Harness h = new Harness();

  @AfterEach
  void tearDown() {
    h.close();
  }

  Proxy gateway(int... ports) throws Exception {
    ProxyOptions o =
        Harness.sidecarOptions(
            "istio-ingressgateway-5f8d7-abcde",
            "istio-ingressgateway",
            "127.0.0.1",
            Map.of("istio", "ingressgateway"));
    o.role = ProxyOptions.Role.ROUTER;
    o.namespace = "istio-system";
    for (int p : ports) {
      o.listenerBind.put(p, "127.0.0.1:0");
    }
    return h.start(o);
  }

  /**
   * A blocking server that reads until the client's FIN, then answers {@code name:} + what it read
   * and closes (Vert.x sockets close on a FIN, so this one is plain java.net).
   */
  Echo echo(String name) throws Exception {
    return echo(name, null);
  }

  Echo echo(String name, Path p12) throws Exception {
    return echo(name, p12, false);
  }

  /** {@code eager}: answers the first bytes it reads and closes, without waiting for a FIN. */
  Echo echo(String name, Path p12, boolean eager) throws Exception {
    ServerSocket ss;
    if (p12 == null) {
      ss = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    } else {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(p12)) {
        ks.load(in, "changeit".toCharArray());
      }
      KeyManagerFactory kmf =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, "changeit".toCharArray());
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf.getKeyManagers(), null, null);
      ss = ctx.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress());
    }
    Echo e = new Echo(ss, name, eager);
    h.closeLater(e);
    return e;
  }

  static final class Echo implements AutoCloseable {
    final ServerSocket ss;
    final ExecutorService pool = Executors.newCachedThreadPool();

    Echo(ServerSocket ss, String name, boolean eager) {
      this.ss = ss;
      pool.execute(
          () -> {
            while (!ss.isClosed()) {
              try {
                Socket c = ss.accept();
                pool.execute(
                    () -> {
                      try (c) {
                        c.setSoTimeout(20_000);
                        String got;
                        if (eager) {
                          byte[] b = new byte[4096];
                          int n = c.getInputStream().read(b);
                          got = new String(b, 0, Math.max(0, n), StandardCharsets.UTF_8);
                        } else {
                          got = readAll(c.getInputStream());
                        }
                        c.getOutputStream()
                            .write((name + ":" + got).getBytes(StandardCharsets.UTF_8));
                        c.getOutputStream().flush();
                      } catch (Exception ex) {
                        // the client went away
                      }
                    });
              } catch (Exception ex) {
                return;
              }
            }
          });
    }

    int actualPort() {
      return ss.getLocalPort();
    }

    @Override
    public void close() throws Exception {
      ss.close();
      pool.shutdownNow();
    }
  }

  static FilterChain tcpChain(String name, FilterChainMatch.Builder m, TcpProxy cfg) {
    return FilterChain.newBuilder()
        .setName(name)
        .setFilterChainMatch(m)
        .addFilters(
            Filter.newBuilder()
                .setName("envoy.filters.network.tcp_proxy")
                .setTypedConfig(Any.pack(cfg)))
        .build();
  }

  static TcpProxy toCluster(String cluster) {
    return TcpProxy.newBuilder().setStatPrefix(cluster).setCluster(cluster).build();
  }

  static Listener tcpListener(String name, int port, FilterChain... chains) {
    Listener.Builder l =
        Listener.newBuilder()
            .setName(name)
            .setAddress(
                Address.newBuilder()
                    .setSocketAddress(
                        SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(port)));
    for (FilterChain c : chains) {
      l.addFilterChains(c);
    }
    return l.build();
  }

  static Listener withTlsInspector(Listener l) {
    return l.toBuilder()
        .addListenerFilters(
            ListenerFilter.newBuilder().setName("envoy.filters.listener.tls_inspector"))
        .build();
  }

  /** Sends {@code msg}, half-closes, reads to the end. */
  static String exchange(int port, String msg) throws Exception {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setSoTimeout(10_000);
      s.getOutputStream().write(msg.getBytes(StandardCharsets.UTF_8));
      s.getOutputStream().flush();
      s.shutdownOutput();
      return readAll(s.getInputStream());
    }
  }

  static String readAll(InputStream in) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] b = new byte[4096];
    try {
      int n;
      while ((n = in.read(b)) >= 0) {
        out.write(b, 0, n);
      }
    } catch (SocketException e) {
      // a reset ends the stream as well
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  /** Whether the proxy closes the connection (EOF or reset) within the socket timeout. */
  static boolean closedByProxy(int port, String send, int timeoutMs) throws Exception {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setSoTimeout(timeoutMs);
      if (send != null) {
        s.getOutputStream().write(send.getBytes(StandardCharsets.UTF_8));
        s.getOutputStream().flush();
      }
      try {
        return s.getInputStream().read() < 0;
      } catch (SocketException e) {
        return true;
      }
    }
  }

  @Test
  void echoThroughATcpProxyChainWithHalfCloseAndIstioTcpMetrics() throws Exception {
    Echo echo = echo("echo");
    Proxy gw = gateway(31400);
    String cluster = outbound(9000, "", "echo" + SUFFIX);
    gw.apply(
        List.of(edsCluster(cluster, "echo" + SUFFIX, "echo")),
        List.of(
            cla(
                cluster,
                false,
                "echo-v1;default;echo;v1;Kubernetes",
                "127.0.0.1:" + echo.actualPort())),
        List.of(
            tcpListener(
                "0.0.0.0_31400",
                31400,
                tcpChain("tcp", FilterChainMatch.newBuilder(), toCluster(cluster)))),
        List.of());
    int port = gw.port("0.0.0.0_31400");
    // the echo answers only after the client's FIN: the FIN went through and the reply came back
    assertThat(exchange(port, "hello")).isEqualTo("echo:hello");
    assertThat(exchange(port, "x".repeat(300_000))).isEqualTo("echo:" + "x".repeat(300_000));
    long deadline = System.currentTimeMillis() + 5000;
    Map<String, long[]> tcp = gw.metrics().tcpCounts();
    while (System.currentTimeMillis() < deadline
        && (tcp.isEmpty() || tcp.values().iterator().next()[1] < 2)) {
      Thread.sleep(20);
      tcp = gw.metrics().tcpCounts();
    }
    assertThat(tcp).hasSize(1);
    String labels = tcp.keySet().iterator().next();
    assertThat(labels)
        .startsWith("reporter=\"source\",source_workload=\"istio-ingressgateway\"")
        .contains("destination_workload=\"echo-v1\"")
        .contains("destination_service=\"echo" + SUFFIX + "\"")
        .contains("request_protocol=\"tcp\"")
        .contains("response_flags=\"-\"")
        .doesNotContain("response_code");
    long[] v = tcp.get(labels);
    assertThat(v[0]).as("opened").isEqualTo(2);
    assertThat(v[1]).as("closed").isEqualTo(2);
    assertThat(v[2]).as("received").isEqualTo(5 + 300_000);
    assertThat(v[3]).as("sent").isEqualTo(10 + 300_005);
    assertThat(gw.metrics().prometheus())
        .contains("# TYPE istio_tcp_connections_opened_total counter")
        .contains("istio_tcp_sent_bytes_total{" + labels + "} 300015")
        .contains("istio_tcp_received_bytes_total{" + labels + "} 300005");
  }

  @Test
  void weightedClustersSplitConnectionsByWeight() throws Exception {
    Echo v1 = echo("v1");
    Echo v2 = echo("v2");
    Proxy gw = gateway(31400);
    String c1 = outbound(9000, "v1", "echo" + SUFFIX);
    String c2 = outbound(9000, "v2", "echo" + SUFFIX);
    TcpProxy cfg =
        TcpProxy.newBuilder()
            .setStatPrefix("echo")
            .setWeightedClusters(
                WeightedCluster.newBuilder()
                    .addClusters(
                        WeightedCluster.ClusterWeight.newBuilder().setName(c1).setWeight(80))
                    .addClusters(
                        WeightedCluster.ClusterWeight.newBuilder().setName(c2).setWeight(20)))
            .build();
    gw.apply(
        List.of(
            staticCluster(c1, "127.0.0.1", v1.actualPort()),
            staticCluster(c2, "127.0.0.1", v2.actualPort())),
        List.of(),
        List.of(
            tcpListener(
                "0.0.0.0_31400", 31400, tcpChain("tcp", FilterChainMatch.newBuilder(), cfg))),
        List.of());
    int port = gw.port("0.0.0.0_31400");
    int n = 400;
    int ones = 0;
    for (int i = 0; i < n; i++) {
      String r = exchange(port, "x");
      assertThat(r).isIn("v1:x", "v2:x");
      if (r.equals("v1:x")) {
        ones++;
      }
    }
    // 80% of 400 = 320, sd 8: within 4 sd
    assertThat(ones).isBetween(288, 352);
  }

  @Test
  void tlsPassthroughIsSelectedBySniAndTheBackendsCertificateReachesTheClient() throws Exception {
    Path a = cert("a.example.com");
    Path b = cert("b.example.com");
    Echo backendA = echo("A", a);
    Echo backendB = echo("B", b);
    Stub http = h.stub("plain-http");
    Proxy gw = gateway(8443);
    String ca = outbound(443, "", "a" + SUFFIX);
    String cb = outbound(443, "", "b" + SUFFIX);
    String web = outbound(80, "", "web" + SUFFIX);
    String rc = "http.8443";
    // as Istio's gateway: a PASSTHROUGH server per SNI host and a plain HTTP server on one port
    Listener l =
        withTlsInspector(
            tcpListener(
                "0.0.0.0_8443",
                8443,
                tcpChain(
                    "a",
                    FilterChainMatch.newBuilder().addServerNames("a.example.com"),
                    toCluster(ca)),
                tcpChain(
                    "b",
                    FilterChainMatch.newBuilder()
                        .addServerNames("*.b.example.com")
                        .addServerNames("b.example.com"),
                    toCluster(cb))));
    l =
        l.toBuilder()
            .addFilterChains(
                listener("x", "0.0.0.0", 8443, hcmRds(rc, "outbound_0.0.0.0_8443"))
                    .getFilterChains(0))
            .build();
    gw.apply(
        List.of(
            staticCluster(ca, "127.0.0.1", backendA.actualPort()),
            staticCluster(cb, "127.0.0.1", backendB.actualPort()),
            edsCluster(web, "web" + SUFFIX, "web")),
        List.of(cla(web, false, null, http.hostPort())),
        List.of(l),
        List.of(
            routeConfig(
                rc,
                VirtualHost.newBuilder()
                    .setName("web")
                    .addDomains("*")
                    .addRoutes(route("web", prefix("/"), Shapes.toCluster(web, 0).build()))
                    .build())));
    int port = gw.port("0.0.0.0_8443");
    assertThat(tlsExchange(port, "a.example.com")).isEqualTo("CN=a.example.com|A:ping");
    assertThat(tlsExchange(port, "b.example.com")).isEqualTo("CN=b.example.com|B:ping");
    assertThat(tlsExchange(port, "x.b.example.com")).isEqualTo("CN=b.example.com|B:ping");
    // plain HTTP on the same port goes to the HTTP chain, with the client's address
    String resp;
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      // no half-close: Envoy's HTTP connection manager closes on a client FIN
      s.getOutputStream()
          .write(
              "GET /p HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n"
                  .getBytes(StandardCharsets.US_ASCII));
      resp = readAll(s.getInputStream());
    }
    assertThat(resp).startsWith("HTTP/1.1 200").contains("plain-http");
    assertThat(http.headers.get(0).get("x-forwarded-for")).isEqualTo("127.0.0.1");
    // a TLS name no chain serves: no chain matches (the HTTP chain is not TLS), closed
    assertThat(tlsFails(port, "c.example.com")).isTrue();
  }

  @Test
  void noMatchingChainBlackHoleAndIdleTimeoutClose() throws Exception {
    Echo echo = echo("echo");
    Proxy gw = gateway(9001, 9002, 9003);
    String cluster = outbound(9000, "", "echo" + SUFFIX);
    TcpProxy idle =
        TcpProxy.newBuilder()
            .setStatPrefix(cluster)
            .setCluster(cluster)
            .setIdleTimeout(ms(300))
            .build();
    gw.apply(
        List.of(staticCluster(cluster, "127.0.0.1", echo.actualPort()), blackhole()),
        List.of(),
        List.of(
            tcpListener(
                "0.0.0.0_9001",
                9001,
                tcpChain(
                    "only-10",
                    FilterChainMatch.newBuilder()
                        .addSourcePrefixRanges(
                            CidrRange.newBuilder()
                                .setAddressPrefix("10.0.0.0")
                                .setPrefixLen(UInt32Value.of(8))),
                    toCluster(cluster))),
            tcpListener(
                "0.0.0.0_9002",
                9002,
                tcpChain("bh", FilterChainMatch.newBuilder(), toCluster("BlackHoleCluster"))),
            tcpListener(
                "0.0.0.0_9003", 9003, tcpChain("idle", FilterChainMatch.newBuilder(), idle))),
        List.of());
    assertThat(closedByProxy(gw.port("0.0.0.0_9001"), "hi", 5000)).as("no chain").isTrue();
    assertThat(closedByProxy(gw.port("0.0.0.0_9002"), "hi", 5000)).as("black hole").isTrue();
    long t0 = System.nanoTime();
    assertThat(closedByProxy(gw.port("0.0.0.0_9003"), "hi", 5000)).as("idle").isTrue();
    long took = (System.nanoTime() - t0) / 1_000_000;
    assertThat(took).isBetween(250L, 3000L);
    // with traffic the connection stays up past the idle timeout
    try (Socket s = new Socket("127.0.0.1", gw.port("0.0.0.0_9003"))) {
      for (int i = 0; i < 4; i++) {
        s.getOutputStream().write('x');
        s.getOutputStream().flush();
        Thread.sleep(150);
      }
      s.shutdownOutput();
      s.setSoTimeout(5000);
      assertThat(readAll(s.getInputStream())).isEqualTo("echo:xxxx");
    }
  }

  @Test
  void maxConnectionsRefusesTheConnectionOverTheLimit() throws Exception {
    Echo echo = echo("echo");
    Proxy gw = gateway(31400);
    String cluster = outbound(9000, "", "echo" + SUFFIX);
    Cluster c =
        staticCluster(cluster, "127.0.0.1", echo.actualPort()).toBuilder()
            .setCircuitBreakers(
                CircuitBreakers.newBuilder()
                    .addThresholds(
                        CircuitBreakers.Thresholds.newBuilder()
                            .setMaxConnections(UInt32Value.of(1))))
            .build();
    gw.apply(
        List.of(c),
        List.of(),
        List.of(
            tcpListener(
                "0.0.0.0_31400",
                31400,
                tcpChain("tcp", FilterChainMatch.newBuilder(), toCluster(cluster)))),
        List.of());
    int port = gw.port("0.0.0.0_31400");
    try (Socket first = new Socket("127.0.0.1", port)) {
      first.getOutputStream().write('a');
      Thread.sleep(300);
      assertThat(closedByProxy(port, "b", 5000)).as("second connection").isTrue();
      first.shutdownOutput();
      first.setSoTimeout(5000);
      assertThat(readAll(first.getInputStream())).isEqualTo("echo:a");
    }
    // the first one's slot is free again
    Thread.sleep(200);
    assertThat(exchange(port, "c")).isEqualTo("echo:c");
  }

  @Test
  void sidecarRedirectTheOriginalDestinationSelectsTheListener() throws Exception {
    Echo db = echo("db");
    Echo external = echo("external");
    Stub product = h.stub("product-body");
    ProxyOptions o =
        Harness.sidecarOptions("frontend-1", "frontend", "127.0.0.1", Map.of("app", "frontend"));
    // what iptables' REDIRECT would have recorded, per client port (no iptables in tests)
    Map<Integer, String> originalDst = new ConcurrentHashMap<>();
    o.originalDst = so -> originalDst.get(so.remoteAddress().port());
    Proxy sc = h.start(o);
    String dbCluster = outbound(3306, "", "db" + SUFFIX);
    String productCluster = outbound(8080, "", "product" + SUFFIX);
    Listener virtualOutbound =
        tcpListener(
                "virtualOutbound",
                15001,
                tcpChain(
                    "PassthroughFilterChain",
                    FilterChainMatch.newBuilder(),
                    toCluster("PassthroughCluster")))
            .toBuilder()
            .setUseOriginalDst(BoolValue.of(true))
            .build();
    Listener dbListener =
        tcpListener(
                "10.0.0.5_3306",
                3306,
                tcpChain("db", FilterChainMatch.newBuilder(), toCluster(dbCluster)))
            .toBuilder()
            .setAddress(
                Address.newBuilder()
                    .setSocketAddress(
                        SocketAddress.newBuilder().setAddress("10.0.0.5").setPortValue(3306)))
            .build();
    Listener http8080 =
        listener("0.0.0.0_8080", "0.0.0.0", 8080, hcmRds("8080", "outbound_0.0.0.0_8080"));
    sc.apply(
        List.of(
            staticCluster(dbCluster, "127.0.0.1", db.actualPort()),
            edsCluster(productCluster, "product" + SUFFIX, "product"),
            passthrough()),
        List.of(cla(productCluster, false, null, product.hostPort())),
        List.of(virtualOutbound, dbListener, http8080),
        List.of(
            routeConfig(
                "8080",
                serviceVhost(
                    "product",
                    8080,
                    route("default", prefix("/"), Shapes.toCluster(productCluster, 0).build())))));
    int port = sc.port("outbound");
    // TCP to the service address: its listener's tcp_proxy chain
    assertThat(redirected(port, originalDst, "10.0.0.5:3306", "hello")).isEqualTo("db:hello");
    // an address no listener has: virtualOutbound's passthrough chain dials it
    assertThat(redirected(port, originalDst, "127.0.0.1:" + external.actualPort(), "hi"))
        .isEqualTo("external:hi");
    // HTTP to port 8080: the 0.0.0.0_8080 listener's HTTP manager
    try (Socket s = new Socket()) {
      s.bind(new InetSocketAddress("127.0.0.1", 0));
      originalDst.put(s.getLocalPort(), "10.0.0.9:8080");
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setSoTimeout(10_000);
      s.getOutputStream()
          .write(
              "GET /x HTTP/1.1\r\nHost: product:8080\r\nConnection: close\r\n\r\n"
                  .getBytes(StandardCharsets.US_ASCII));
      assertThat(readAll(s.getInputStream())).startsWith("HTTP/1.1 200").contains("product-body");
    }
    // dialled directly as an HTTP proxy (no original destination): the HTTP path as before
    var resp =
        Harness.viaProxy(sc)
            .send(
                HttpRequest.newBuilder(URI.create("http://product:8080/y")).build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(resp.statusCode()).isEqualTo(200);
    assertThat(resp.body()).contains("product-body");
  }

  static String redirected(int port, Map<Integer, String> originalDst, String dst, String msg)
      throws Exception {
    try (Socket s = new Socket()) {
      s.bind(new InetSocketAddress("127.0.0.1", 0));
      originalDst.put(s.getLocalPort(), dst);
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setSoTimeout(10_000);
      s.getOutputStream().write(msg.getBytes(StandardCharsets.UTF_8));
      s.shutdownOutput();
      return readAll(s.getInputStream());
    }
  }

  @Test
  void tlsOriginationOnATcpClusterVerifiesTheBackendWhenGivenACa() throws Exception {
    Path a = cert("a.example.com");
    Path b = cert("b.example.com");
    // TLS origination sends a FIN without close_notify on a client's half-close: this backend
    // answers without waiting for it
    Echo backend = echo("A", a, true);
    Path caA = pem(a);
    Path caB = pem(b);
    Proxy gw = gateway(9101, 9102, 9103);
    String insecure = outbound(443, "insecure", "a" + SUFFIX);
    String trusted = outbound(443, "trusted", "a" + SUFFIX);
    String wrongCa = outbound(443, "wrong", "a" + SUFFIX);
    gw.apply(
        List.of(
            originating(insecure, backend.actualPort(), null),
            originating(trusted, backend.actualPort(), caA),
            originating(wrongCa, backend.actualPort(), caB)),
        List.of(),
        List.of(
            tcpListener(
                "0.0.0.0_9101",
                9101,
                tcpChain("i", FilterChainMatch.newBuilder(), toCluster(insecure))),
            tcpListener(
                "0.0.0.0_9102",
                9102,
                tcpChain("t", FilterChainMatch.newBuilder(), toCluster(trusted))),
            tcpListener(
                "0.0.0.0_9103",
                9103,
                tcpChain("w", FilterChainMatch.newBuilder(), toCluster(wrongCa)))),
        List.of());
    // the client speaks plain text; the gateway originates TLS to the backend
    assertThat(ask(gw.port("0.0.0.0_9101"), "ping")).isEqualTo("A:ping");
    assertThat(ask(gw.port("0.0.0.0_9102"), "ping")).isEqualTo("A:ping");
    assertThat(ask(gw.port("0.0.0.0_9103"), "ping")).isEmpty();
  }

  /** Sends {@code msg} and reads to the end, without half-closing. */
  static String ask(int port, String msg) throws Exception {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setSoTimeout(10_000);
      s.getOutputStream().write(msg.getBytes(StandardCharsets.UTF_8));
      s.getOutputStream().flush();
      return readAll(s.getInputStream());
    }
  }

  static Cluster originating(String name, int port, Path ca) {
    CommonTlsContext.Builder common = CommonTlsContext.newBuilder();
    if (ca != null) {
      common.setValidationContext(
          CertificateValidationContext.newBuilder()
              .setTrustedCa(DataSource.newBuilder().setFilename(ca.toString())));
    }
    UpstreamTlsContext ctx =
        UpstreamTlsContext.newBuilder().setSni("a.example.com").setCommonTlsContext(common).build();
    return staticCluster(name, "127.0.0.1", port).toBuilder()
        .setTransportSocket(
            TransportSocket.newBuilder()
                .setName("envoy.transport_sockets.tls")
                .setTypedConfig(Any.pack(ctx)))
        .build();
  }

  /** The certificate of a PKCS12 store as a PEM file (self-signed: its own CA). */
  Path pem(Path p12) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(p12)) {
      ks.load(in, "changeit".toCharArray());
    }
    Path out = tmp.resolve(p12.getFileName() + ".crt");
    Files.writeString(
        out,
        "-----BEGIN CERTIFICATE-----\n"
            + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(ks.getCertificate("s").getEncoded())
            + "\n-----END CERTIFICATE-----\n");
    return out;
  }

  Path cert(String cn) throws Exception {
    return TestCertificates.selfSigned(tmp.resolve(cn + ".p12"), "s", "CN=" + cn, null);
  }

  static SSLSocket tls(int port, String sni) throws Exception {
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(
        null,
        new TrustManager[] {
          new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] c, String a) {}

            @Override
            public void checkServerTrusted(X509Certificate[] c, String a) {}

            @Override
            public X509Certificate[] getAcceptedIssuers() {
              return new X509Certificate[0];
            }
          }
        },
        null);
    SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port);
    s.setSoTimeout(10_000);
    SSLParameters p = s.getSSLParameters();
    p.setServerNames(List.of(new SNIHostName(sni)));
    s.setSSLParameters(p);
    return s;
  }

  /** The backend's certificate subject and its answer, through the gateway with TLS untouched. */
  static String tlsExchange(int port, String sni) throws Exception {
    try (SSLSocket s = tls(port, sni)) {
      s.startHandshake();
      X509Certificate peer = (X509Certificate) s.getSession().getPeerCertificates()[0];
      s.getOutputStream().write("ping".getBytes(StandardCharsets.UTF_8));
      s.getOutputStream().flush();
      s.shutdownOutput();
      return peer.getSubjectX500Principal().getName() + "|" + readAll(s.getInputStream());
    }
  }

  static boolean tlsFails(int port, String sni) throws Exception {
    try (SSLSocket s = tls(port, sni)) {
      s.startHandshake();
      return false;
    } catch (Exception e) {
      return true;
    }
  }

  static {
    // IstioMetrics is referenced for its label names in assertions
    assertThat(IstioMetrics.TCP_LABELS).doesNotContain("response_code");
  }
}
