package io.shopmesh.mesh.proxy;

import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Starts proxies on ephemeral ports and talks to them. */
public final class Harness implements AutoCloseable {
  public final Vertx vertx = Vertx.vertx();
  private final List<AutoCloseable> closeables = new ArrayList<>();

  public static ProxyOptions sidecarOptions(
      String pod, String workload, String ip, Map<String, String> labels) {
    ProxyOptions o = new ProxyOptions();
    o.role = ProxyOptions.Role.SIDECAR;
    o.podName = pod;
    o.workloadName = workload;
    o.namespace = "default";
    o.podIp = ip;
    o.labels.putAll(labels);
    o.ports.add(8080);
    o.adminPort = 0;
    o.outboundPort = 0;
    o.inboundPort = 0;
    o.readyPort = 0;
    o.statsPort = 0;
    o.accessLog = "off";
    // tests never ask the machine's resolver: names come from a temp hosts file
    o.dnsResolvers = "none";
    return o;
  }

  public Proxy start(ProxyOptions o) throws Exception {
    Proxy p = new Proxy(o);
    p.start(false);
    closeables.add(p);
    return p;
  }

  public Stub stub(String name) throws Exception {
    Stub s = new Stub(vertx, name);
    closeables.add(s);
    return s;
  }

  public Stub stub(String name, String ip) throws Exception {
    Stub s = new Stub(vertx, name, ip);
    closeables.add(s);
    return s;
  }

  /** Closed with the harness. */
  public <T extends AutoCloseable> T closeLater(T c) {
    closeables.add(c);
    return c;
  }

  /** A port on which nothing listens (connections are refused). */
  public static int refusedPort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
    }
  }

  /** An HTTP client whose proxy is the sidecar's outbound port (as the apps' proxy setting). */
  public static HttpClient viaProxy(Proxy p) {
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", p.port("outbound"))))
        .connectTimeout(Duration.ofSeconds(5))
        .build();
  }

  public static HttpClient direct() {
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5))
        .build();
  }

  public static HttpResponse<String> get(HttpClient c, String url, String... headers)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return c.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Sends raw bytes and returns what comes back until the server closes or 3 s pass. */
  public static String raw(String host, int port, String request) throws IOException {
    try (Socket s = new Socket(host, port)) {
      s.setSoTimeout(3000);
      OutputStream os = s.getOutputStream();
      os.write(request.getBytes(StandardCharsets.ISO_8859_1));
      os.flush();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[65536];
      StringBuilder sb = new StringBuilder();
      try {
        int n;
        while ((n = in.read(buf)) > 0) {
          sb.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
          if (sb.indexOf("\r\n\r\n") > 0 && sb.toString().contains("content-length: 0")) {
            break;
          }
        }
      } catch (java.net.SocketTimeoutException e) {
        // return what we have
      }
      return sb.toString();
    }
  }

  /** Telemetry is recorded as the response completes: poll briefly until it shows. */
  public static String metricsContaining(Proxy p, String... parts) throws InterruptedException {
    String m = p.metrics().prometheus();
    for (int i = 0; i < 100; i++) {
      boolean all = true;
      for (String part : parts) {
        all &= m.contains(part);
      }
      if (all) {
        return m;
      }
      Thread.sleep(20);
      m = p.metrics().prometheus();
    }
    return m;
  }

  @Override
  public void close() {
    for (AutoCloseable c : closeables) {
      try {
        c.close();
      } catch (Exception e) {
        // ignore
      }
    }
    vertx.close();
  }
}
