package io.shopmesh.mesh.meshctl;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Stand-ins for istiod, the proxy and the apps that honour the runtime contracts just enough for
 * the launcher's own tests (ports, readiness, syncz, apply, config_dump, stats) without the real
 * parts. Run as {@code FakeMesh.Istiod}, {@code FakeMesh.Proxy}, {@code FakeMesh.App}.
 */
public final class FakeMesh {

  static Map<String, String> flags(String[] args) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      m.put(args[i], args[i + 1]);
    }
    return m;
  }

  static void reply(HttpExchange ex, int status, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.sendResponseHeaders(status, b.length);
    try (OutputStream os = ex.getResponseBody()) {
      os.write(b);
    }
  }

  static HttpServer server(String host, int port) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress(host, port), 16);
    return s;
  }

  public static final class Istiod {
    public static void main(String[] args) throws Exception {
      Map<String, String> f = flags(args);
      String host = f.get("--bind");
      Map<String, String> proxies = new ConcurrentHashMap<>();
      ServerSocket xds = new ServerSocket();
      xds.bind(new InetSocketAddress(host, Integer.parseInt(f.get("--xds-port"))));
      HttpServer s = server(host, Integer.parseInt(f.get("--http-port")));
      s.createContext("/ready", ex -> reply(ex, 200, "ok"));
      s.createContext(
          "/register",
          ex -> {
            String q = ex.getRequestURI().getQuery();
            String[] kv = q.split("&");
            proxies.put(kv[0].substring(4), kv[1].substring(3));
            reply(ex, 200, "ok");
          });
      s.createContext(
          "/debug/syncz",
          ex -> {
            List<String> rows = new ArrayList<>();
            proxies.forEach(
                (pod, ns) ->
                    rows.add(
                        "{\"pod\":\""
                            + pod
                            + "\",\"namespace\":\""
                            + ns
                            + "\","
                            + "\"CDS\":{\"status\":\"SYNCED\"},\"LDS\":{\"status\":\"SYNCED\"},\"EDS\":{\"status\":\"SYNCED\"},"
                            + "\"RDS\":{\"status\":\"SYNCED\"}}"));
            reply(ex, 200, "[" + String.join(",", rows) + "]");
          });
      s.createContext(
          "/apply",
          ex -> {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            // as the real istiod: the token meshctl up made, or nothing is applied
            String token = Files.readString(Path.of(f.get("--apply-token-file"))).trim();
            if (!("Bearer " + token).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
              reply(ex, 401, "{\"diagnostics\":[\"Error: no apply token\"]}");
            } else if (body.contains("weight: 70")) {
              reply(
                  ex,
                  400,
                  "{\"diagnostics\":[\"Error [IST0106] (VirtualService default/product-vs) total weight 70 != 100\"]}");
            } else {
              Files.writeString(Path.of(f.get("--config-dir")).resolve("applied.yaml"), body);
              reply(
                  ex,
                  200,
                  "{\"applied\":[{\"kind\":\"VirtualService\",\"name\":\"product-vs\",\"action\":\"configured\"}],"
                      + "\"diagnostics\":[]}");
            }
          });
      s.start();
      System.out.println("fake istiod on " + host);
      Thread.sleep(Long.MAX_VALUE);
    }
  }

  public static final class Proxy {
    public static void main(String[] args) throws Exception {
      Map<String, String> f = flags(args);
      String ip = f.get("--pod-ip");
      String[] istiod = f.get("--istiod").split(":");
      int istiodHttp = Integer.parseInt(istiod[1]) + 4;
      HttpServer ready = server(ip, 15021);
      ready.createContext("/healthz/ready", ex -> reply(ex, 200, ""));
      ready.start();
      HttpServer admin = server(ip, 15000);
      String dump =
          new String(
              FakeMesh.class.getResourceAsStream("/config_dump.json").readAllBytes(),
              StandardCharsets.UTF_8);
      admin.createContext("/config_dump", ex -> reply(ex, 200, dump));
      admin.start();
      HttpServer stats = server(ip, 15090);
      String pod = f.get("--pod-name");
      stats.createContext(
          "/stats/prometheus",
          ex ->
              reply(
                  ex,
                  200,
                  "istio_requests_total{reporter=\"source\",source_workload=\""
                      + f.get("--workload-name")
                      + "\",destination_version=\"v1\"} 3\n"));
      stats.start();
      ServerSocket outbound = new ServerSocket();
      outbound.bind(new InetSocketAddress(ip, 15001));
      if (f.containsKey("--listener-bind")) {
        String[] b = f.get("--listener-bind").split(",")[0].split("=")[1].split(":");
        HttpServer gw = server(b[0], Integer.parseInt(b[1]));
        gw.createContext("/", ex -> reply(ex, 200, "fake gateway"));
        gw.start();
      }
      HttpClient.newHttpClient()
          .send(
              HttpRequest.newBuilder(
                      URI.create(
                          "http://"
                              + istiod[0]
                              + ":"
                              + istiodHttp
                              + "/register?pod="
                              + pod
                              + "&ns="
                              + f.get("--namespace")))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      System.out.println("fake proxy " + pod + " on " + ip);
      Thread.sleep(Long.MAX_VALUE);
    }
  }

  public static final class App {
    public static void main(String[] args) throws Exception {
      String host = System.getenv("QUARKUS_HTTP_HOST");
      HttpServer s = server(host, Integer.parseInt(System.getenv("QUARKUS_HTTP_PORT")));
      s.createContext("/", ex -> reply(ex, 200, "{\"module\":\"" + args[0] + "\"}"));
      s.start();
      String ssl = System.getenv("QUARKUS_HTTP_SSL_PORT");
      if (ssl != null) {
        ServerSocket tls = new ServerSocket();
        tls.bind(new InetSocketAddress(host, Integer.parseInt(ssl)));
      }
      System.out.println("fake " + args[0] + " " + System.getenv("POD_NAME") + " on " + host);
      Thread.sleep(Long.MAX_VALUE);
    }
  }

  private FakeMesh() {}
}
