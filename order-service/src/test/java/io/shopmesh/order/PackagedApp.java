package io.shopmesh.order;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One run of the packaged order-service (target/quarkus-app) as a real process. */
record PackagedApp(Process process, String url, long pid) {

  private static final Pattern LISTENING = Pattern.compile("Listening on: (http://[^\\s]+)");

  static PackagedApp start(Path db, int downstreamPort) throws IOException, InterruptedException {
    return start(db, downstreamPort, Map.of());
  }

  static PackagedApp start(Path db, int downstreamPort, Map<String, String> extraEnv)
      throws IOException, InterruptedException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb =
        new ProcessBuilder(java, "-jar", "target/quarkus-app/quarkus-run.jar")
            .redirectErrorStream(true);
    var env = pb.environment();
    env.keySet().removeIf(k -> k.startsWith("QUARKUS_") || k.startsWith("ORDER_"));
    env.put("QUARKUS_HTTP_HOST", "127.0.0.1");
    env.put("QUARKUS_HTTP_PORT", "0");
    env.put("ORDER_DB_PATH", db.toString());
    env.put("PRODUCT_SERVICE_URL", "http://127.0.0.1:" + downstreamPort);
    env.put("PAYMENT_API_URL", "http://127.0.0.1:" + downstreamPort);
    env.putAll(extraEnv);
    Process p = pb.start();
    CompletableFuture<String> url = new CompletableFuture<>();
    Thread reader = new Thread(() -> pump(p, url), "order-service-log");
    reader.setDaemon(true);
    reader.start();
    try {
      return new PackagedApp(p, url.get(120, TimeUnit.SECONDS), p.pid());
    } catch (Exception e) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      throw new IllegalStateException("order-service did not start", e);
    }
  }

  private static void pump(Process p, CompletableFuture<String> url) {
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        System.out.println("[order-service " + p.pid() + "] " + line);
        Matcher m = LISTENING.matcher(line);
        if (m.find()) {
          url.complete(m.group(1));
        }
      }
    } catch (IOException e) {
      // process ended
    }
    url.completeExceptionally(new IllegalStateException("exited before listening"));
  }

  /** SIGTERM: Quarkus shuts down cleanly and closes the database. */
  void stop() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** SIGKILL (kill -9): no shutdown hook, no close, whatever is in flight is cut. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }
}
