package io.shopmesh.mesh.istiod;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.logging.Level;
import java.util.logging.Logger;

/** istiod's HTTP port (15014): debug endpoints, Prometheus metrics, apply, readiness. */
final class DebugServer implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(DebugServer.class.getName());
  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final Istiod istiod;
  private HttpServer http;
  private ExecutorService exec;

  DebugServer(Istiod istiod) {
    this.istiod = istiod;
  }

  int start(String bind, int port) throws IOException {
    http = HttpServer.create(new InetSocketAddress(bind, port), 64);
    exec =
        Executors.newFixedThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "istiod-http");
              t.setDaemon(true);
              return t;
            });
    http.setExecutor(exec);
    http.createContext("/debug/syncz", ex -> json(ex, 200, istiod.xds().syncz()));
    http.createContext("/debug/configz", ex -> json(ex, 200, istiod.configz()));
    http.createContext("/debug/registryz", ex -> json(ex, 200, istiod.registryz()));
    http.createContext(
        "/debug/config_dump",
        ex -> {
          String q = ex.getRequestURI().getQuery();
          String id =
              q != null && q.startsWith("proxyID=")
                  ? URLDecoder.decode(q.substring(8), StandardCharsets.UTF_8)
                  : null;
          String dump = id == null ? null : istiod.configDump(id);
          if (dump == null) {
            json(
                ex,
                404,
                Map.of("error", "unknown proxy; use ?proxyID=<node id> as listed by /debug/syncz"));
          } else {
            send(ex, 200, "application/json", dump);
          }
        });
    http.createContext(
        "/metrics",
        ex -> send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", istiod.metrics().scrape()));
    http.createContext(
        "/ready",
        ex -> {
          if (istiod.ready()) {
            send(ex, 200, "text/plain", "ready\n");
          } else {
            send(ex, 503, "text/plain", "not ready\n");
          }
        });
    http.createContext("/apply", this::apply);
    http.start();
    return http.getAddress().getPort();
  }

  private void apply(HttpExchange ex) throws IOException {
    if (!"POST".equals(ex.getRequestMethod())) {
      json(ex, 405, Map.of("error", "POST YAML to /apply"));
      return;
    }
    String token = istiod.applyToken();
    if (token != null) {
      String auth = ex.getRequestHeaders().getFirst("Authorization");
      byte[] want = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
      if (auth == null || !MessageDigest.isEqual(auth.getBytes(StandardCharsets.UTF_8), want)) {
        ex.getRequestBody().close();
        json(
            ex,
            401,
            Map.of(
                "diagnostics",
                List.of(
                    "Error: /apply changes the mesh's config and needs istiod's apply token"
                        + " (authorization: Bearer); meshctl apply sends the one meshctl up made;"
                        + " nothing was applied")));
        return;
      }
    }
    byte[] bytes = ex.getRequestBody().readNBytes(Applier.MAX_REQUEST_BYTES + 1);
    if (bytes.length > Applier.MAX_REQUEST_BYTES) {
      ex.getRequestBody().close();
      json(
          ex,
          413,
          Map.of(
              "diagnostics",
              List.of(
                  "Error [SM0005] request too large: more than "
                      + Applier.MAX_REQUEST_BYTES
                      + " bytes (the limit is 3 MiB per apply, as Kubernetes' API server);"
                      + " nothing was applied")));
      return;
    }
    String body = new String(bytes, StandardCharsets.UTF_8);
    long deadline = deadline(ex.getRequestURI().getQuery());
    Applier.Result r;
    try {
      r = istiod.apply(body, deadline);
    } catch (IOException | RuntimeException e) {
      LOG.log(Level.WARNING, "apply failed", e);
      json(ex, 500, Map.of("diagnostics", List.of("Error [SM0001] " + e.getMessage())));
      return;
    }
    Map<String, Object> out = new LinkedHashMap<>();
    if (r.ok()) {
      out.put("applied", r.applied());
      out.put("diagnostics", r.diagnostics());
      json(ex, 200, out);
    } else {
      out.put("diagnostics", r.diagnostics());
      json(ex, r.status(), out);
    }
  }

  /**
   * {@code ?deadline=<epoch millis>}: the client gives up then, so istiod must not apply after it.
   * Without one, 30 s from now.
   */
  static long deadline(String query) {
    if (query != null) {
      for (String kv : query.split("&")) {
        if (kv.startsWith("deadline=")) {
          try {
            return Long.parseLong(kv.substring("deadline=".length()));
          } catch (NumberFormatException e) {
            break;
          }
        }
      }
    }
    return System.currentTimeMillis() + 30_000;
  }

  private static void json(HttpExchange ex, int status, Object body) throws IOException {
    send(ex, status, "application/json", JSON.writeValueAsString(body) + "\n");
  }

  private static void send(HttpExchange ex, int status, String type, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", type);
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream os = ex.getResponseBody()) {
      os.write(bytes);
    }
  }

  @Override
  public void close() {
    if (http != null) {
      http.stop(0);
    }
    if (exec != null) {
      exec.shutdownNow();
    }
  }
}
