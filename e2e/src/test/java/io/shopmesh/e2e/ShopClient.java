package io.shopmesh.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A client of the shop through the ingress gateway, as curl -H 'Host: shop.example.com' would be.
 */
public final class ShopClient {

  public static final String HOST = "shop.example.com";

  public record Response(int status, String body, Map<String, List<String>> headers, long millis) {
    public Optional<String> header(String name) {
      return headers.entrySet().stream()
          .filter(e -> e.getKey().equalsIgnoreCase(name))
          .flatMap(e -> e.getValue().stream())
          .findFirst();
    }

    /**
     * The product service version that answered: its header, else the JSON's top-level "version".
     */
    public String version() {
      return header("x-product-version")
          .orElseGet(
              () -> {
                Matcher m = VERSION.matcher(body);
                return m.find() ? m.group(1) : "none";
              });
    }
  }

  private static final Pattern VERSION = Pattern.compile("\"version\"\\s*:\\s*\"([^\"]+)\"");

  private final URI gateway;
  private final HttpClient http =
      HttpClient.newBuilder()
          .connectTimeout(Duration.ofSeconds(3))
          .version(HttpClient.Version.HTTP_1_1)
          .build();

  public ShopClient(URI gateway) {
    this.gateway = gateway;
  }

  public Response get(String path, String... headers) {
    return send(HOST, "GET", path, null, headers);
  }

  public Response send(String host, String method, String path, String json, String... headers) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(gateway.resolve(path))
            .timeout(Duration.ofSeconds(30))
            .header("Host", host);
    for (int i = 0; i + 1 < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    if (json != null) {
      b.header("Content-Type", "application/json")
          .method(method, HttpRequest.BodyPublishers.ofString(json));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    long t = System.nanoTime();
    try {
      HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
      return new Response(
          r.statusCode(), r.body(), r.headers().map(), (System.nanoTime() - t) / 1_000_000);
    } catch (IOException e) {
      throw new UncheckedIOException(method + " " + path + " via " + gateway, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** n product calls through the frontend, a few at a time; the version counts and the failures. */
  public Tally products(int n, String... headers) throws InterruptedException {
    Tally tally = new Tally();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        fs.add(pool.submit(() -> tally.add(get("/products", headers))));
      }
      for (Future<?> f : fs) {
        try {
          f.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
          tally.errors.incrementAndGet();
        }
      }
    } finally {
      pool.shutdownNow();
      pool.awaitTermination(10, TimeUnit.SECONDS);
    }
    return tally;
  }

  /** What a batch of product calls saw. */
  public static final class Tally {
    final Map<String, AtomicInteger> versions = new ConcurrentHashMap<>();
    final Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
    final AtomicInteger errors = new AtomicInteger();

    void add(Response r) {
      statuses.computeIfAbsent(r.status(), k -> new AtomicInteger()).incrementAndGet();
      if (r.status() == 200) {
        versions.computeIfAbsent(r.version(), k -> new AtomicInteger()).incrementAndGet();
      }
    }

    public int version(String v) {
      AtomicInteger a = versions.get(v);
      return a == null ? 0 : a.get();
    }

    public int status(int s) {
      AtomicInteger a = statuses.get(s);
      return a == null ? 0 : a.get();
    }

    @Override
    public String toString() {
      return "versions " + versions + ", statuses " + statuses + ", errors " + errors;
    }
  }
}
