package io.shopmesh.mesh.proxy;

import static io.shopmesh.mesh.proxy.Shapes.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Malformed, oversized, smuggling, stalled and huge requests; upstream resets mid-body. */
class HostileInputTest {
  static final String HOST = "product-service" + SUFFIX;
  static final String C = outbound(8080, "", HOST);
  static Harness h;
  static Proxy proxy;
  static Stub app;
  static int port;
  static Path accessLog;

  @BeforeAll
  static void setUp() throws Exception {
    h = new Harness();
    app = h.stub("app");
    accessLog = Files.createTempFile("hostile-access", ".log");
    ProxyOptions o =
        Harness.sidecarOptions("frontend-5d4f-abcde", "frontend", "127.0.0.1", Map.of());
    o.accessLog = accessLog.toString();
    proxy = h.start(o);
    proxy.apply(
        List.of(edsCluster(C, HOST, "product-service")),
        List.of(cla(C, false, null, app.hostPort())),
        List.of(),
        List.of(
            routeConfig(
                "8080",
                serviceVhost(
                    "product-service", 8080, route("r", prefix("/"), toCluster(C, 0).build())))));
    port = proxy.port("outbound");
  }

  @AfterAll
  static void tearDown() throws Exception {
    h.close();
    Files.deleteIfExists(accessLog);
  }

  @BeforeEach
  void reset() {
    app.mode = Stub.Mode.OK;
    app.count.set(0);
  }

  static String req(String s) throws Exception {
    return Harness.raw("127.0.0.1", port, s);
  }

  @Test
  void malformedRequestLineIs400() throws Exception {
    // Without a valid request line there is no version to answer in: HTTP/1.0 or 1.1.
    assertThat(req("GARBAGE\r\n\r\n")).matches("(?s)HTTP/1\\.[01] 400.*");
    assertThat(
            req(
                "GET /x HTTP/1.1\r\nHost: product-service:8080\r\nBad Header Without Colon\r\n\r\n"))
        .matches("(?s)HTTP/1\\.[01] 400.*");
    assertThat(app.count.get()).isZero();
  }

  @Test
  void oversizedHeadersAre431() throws Exception {
    String big = "x".repeat(70 * 1024);
    assertThat(req("GET /x HTTP/1.1\r\nHost: product-service:8080\r\nX-Big: " + big + "\r\n\r\n"))
        .startsWith("HTTP/1.1 431");
  }

  @Test
  void contentLengthWithTransferEncodingIs400() throws Exception {
    String r =
        req(
            "POST /x HTTP/1.1\r\nHost: product-service:8080\r\nContent-Length: 5\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: product-service:8080\r\n\r\n");
    assertThat(r).startsWith("HTTP/1.1 400");
    assertThat(app.uris).doesNotContain("/smuggled");
  }

  @Test
  void upstreamResetMidBodyResetsOnlyThatRequest() throws Exception {
    app.mode = Stub.Mode.RESET_MID_BODY;
    String r = req("GET /x HTTP/1.1\r\nHost: product-service:8080\r\n\r\n");
    assertThat(r).startsWith("HTTP/1.1 200").contains("partial-body-");
    assertThat(r).doesNotEndWith("0\r\n\r\n");
    app.mode = Stub.Mode.OK;
    HttpResponse<String> ok =
        Harness.get(Harness.viaProxy(proxy), "http://product-service:8080/after");
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(proxy.metrics().prometheus()).contains("response_flags=\"UR\"");
  }

  @Test
  void stalledClientDoesNotBlockOthers() throws Exception {
    try (Socket stall = new Socket("127.0.0.1", port)) {
      OutputStream os = stall.getOutputStream();
      // Half a request head, then nothing; and a body promised but never sent.
      os.write(
          "POST /x HTTP/1.1\r\nHost: product-service:8080\r\nContent-Length: 100\r\n\r\nabc"
              .getBytes(StandardCharsets.US_ASCII));
      os.flush();
      try (Socket half = new Socket("127.0.0.1", port)) {
        half.getOutputStream()
            .write("GET /x HTTP/1.1\r\nHost: pro".getBytes(StandardCharsets.US_ASCII));
        long t0 = System.nanoTime();
        for (int i = 0; i < 20; i++) {
          assertThat(
                  Harness.get(Harness.viaProxy(proxy), "http://product-service:8080/ok")
                      .statusCode())
              .isEqualTo(200);
        }
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(3000);
      }
    }
  }

  @Test
  void hugeBodyIsStreamedWithBoundedMemory() throws Exception {
    app.mode = Stub.Mode.ECHO;
    long size = 64L * 1024 * 1024;
    byte[] chunk = new byte[64 * 1024];
    HttpRequest r =
        HttpRequest.newBuilder(URI.create("http://product-service:8080/upload"))
            .POST(
                HttpRequest.BodyPublishers.ofInputStream(
                    () ->
                        new InputStream() {
                          long left = size;

                          @Override
                          public int read() {
                            return left-- > 0 ? 1 : -1;
                          }

                          @Override
                          public int read(byte[] b, int off, int len) {
                            if (left <= 0) {
                              return -1;
                            }
                            int n = (int) Math.min(len, Math.min(left, chunk.length));
                            left -= n;
                            return n;
                          }
                        }))
            .build();
    Runtime rt = Runtime.getRuntime();
    HttpResponse<String> resp =
        Harness.viaProxy(proxy).send(r, HttpResponse.BodyHandlers.ofString());
    assertThat(resp.statusCode()).isEqualTo(200);
    assertThat(resp.body()).isEqualTo(Long.toString(size));
    // The stub buffers (it counts); the proxy only streams: no retained copy of 64 MiB per request.
    assertThat(rt.totalMemory() - rt.freeMemory()).isLessThan(rt.maxMemory());
  }

  // ---- the HTTP/1 codec as strict as Envoy's: status line and access log flags per case ----

  /** The access log line of a request (by its request line), waiting for the writer thread. */
  static String logLine(String requestLine) throws Exception {
    for (int i = 0; i < 100; i++) {
      for (String l : Files.readAllLines(accessLog)) {
        if (l.contains("\"" + requestLine + "\"")) {
          return l;
        }
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no access log line for " + requestLine);
  }

  /** Status, response flags and details as the access log shows them. */
  static String logged(String requestLine) throws Exception {
    String l = logLine(requestLine);
    String rest = l.substring(l.indexOf("\" ", l.indexOf(requestLine)) + 2);
    String[] f = rest.split(" ");
    return f[0] + " " + f[1] + " " + f[2];
  }

  @Test
  void noHostIs400AtOnce() throws Exception {
    assertThat(req("GET /nohost11 HTTP/1.1\r\n\r\n")).startsWith("HTTP/1.1 400 Bad Request\r\n");
    assertThat(logged("GET /nohost11 HTTP/1.1")).isEqualTo("400 - missing_host_header");
    assertThat(req("GET /nohost10 HTTP/1.0\r\n\r\n")).startsWith("HTTP/1.0 400 Bad Request\r\n");
    assertThat(logged("GET /nohost10 HTTP/1.0")).isEqualTo("400 - missing_host_header");
    assertThat(app.count.get()).isZero();
  }

  @Test
  void unknownTransferEncodingIs501() throws Exception {
    assertThat(
            req(
                "POST /te-x HTTP/1.1\r\nHost: product-service:8080\r\n"
                    + "Transfer-Encoding: xchunked\r\n\r\n"))
        .startsWith("HTTP/1.1 501 Not Implemented\r\n");
    assertThat(logged("POST /te-x HTTP/1.1")).isEqualTo("501 DPE http1.invalid_transfer_encoding");
    assertThat(
            req(
                "POST /te-identity HTTP/1.1\r\nHost: product-service:8080\r\n"
                    + "Transfer-Encoding: identity\r\n\r\n"))
        .startsWith("HTTP/1.1 501 Not Implemented\r\n");
    assertThat(logged("POST /te-identity HTTP/1.1"))
        .isEqualTo("501 DPE http1.invalid_transfer_encoding");
    // With a Content-Length, Envoy's first check wins: both framings at once.
    assertThat(
            req(
                "POST /te-x-cl HTTP/1.1\r\nHost: product-service:8080\r\n"
                    + "Transfer-Encoding: xchunked\r\nContent-Length: 3\r\n\r\nabc"))
        .startsWith("HTTP/1.1 400 Bad Request\r\n");
    assertThat(logged("POST /te-x-cl HTTP/1.1"))
        .isEqualTo("400 DPE http1.content_length_and_chunked_not_allowed");
    assertThat(app.count.get()).isZero();
  }

  @Test
  void twoHostHeadersAre400() throws Exception {
    assertThat(
            req(
                "GET /twohosts HTTP/1.1\r\nHost: product-service:8080\r\n"
                    + "Host: other-service:8080\r\n\r\n"))
        .startsWith("HTTP/1.1 400 Bad Request\r\n");
    assertThat(logged("GET /twohosts HTTP/1.1")).isEqualTo("400 DPE http1.codec_error");
    assertThat(app.count.get()).isZero();
  }

  @Test
  void moreThanAHundredHeadersAre431() throws Exception {
    StringBuilder hundred = new StringBuilder();
    for (int i = 0; i < 99; i++) {
      hundred.append("X-H").append(i).append(": v\r\n");
    }
    // Host and 99 others: exactly Envoy's max_headers_count passes.
    assertThat(req("GET /h100 HTTP/1.1\r\nHost: product-service:8080\r\n" + hundred + "\r\n"))
        .startsWith("HTTP/1.1 200 OK\r\n");
    assertThat(
            req(
                "GET /h101 HTTP/1.1\r\nHost: product-service:8080\r\n"
                    + hundred
                    + "X-One-More: v\r\n\r\n"))
        .startsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n");
    assertThat(logged("GET /h101 HTTP/1.1")).isEqualTo("431 DPE http1.too_many_headers");
    assertThat(app.uris).doesNotContain("/h101");
  }

  @Test
  void invalidChunkSizeIs400() throws Exception {
    assertThat(
            req(
                "POST /badchunk HTTP/1.1\r\nHost: product-service:8080\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"))
        .startsWith("HTTP/1.1 400 Bad Request\r\n");
    assertThat(logged("POST /badchunk HTTP/1.1")).isEqualTo("400 DPE http1.codec_error");
  }

  @Test
  void http2VersionInAnHttp1RequestLineIs400() throws Exception {
    assertThat(req("GET /h2line HTTP/2.0\r\nHost: product-service:8080\r\n\r\n"))
        .startsWith("HTTP/1.1 400 Bad Request\r\n");
    assertThat(logged("GET /h2line HTTP/1.1")).isEqualTo("400 DPE http1.codec_error");
    assertThat(app.count.get()).isZero();
  }

  @Test
  void clientThatDisconnectsBeforeTheResponseIsLogged0Dc() throws Exception {
    app.mode = Stub.Mode.STALL;
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.getOutputStream()
          .write(
              "GET /gone HTTP/1.1\r\nHost: product-service:8080\r\n\r\n"
                  .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      for (int i = 0; i < 100 && app.count.get() == 0; i++) {
        Thread.sleep(20);
      }
      assertThat(app.count.get()).isEqualTo(1);
    }
    assertThat(logged("GET /gone HTTP/1.1")).startsWith("0 DC ");
  }
}
