package io.shopmesh.mesh.meshctl.local;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Small blocking HTTP helpers for probes and admin calls; every call has a timeout. */
public final class Http {

  public record Response(int status, String body) {
    public boolean ok() {
      return status >= 200 && status < 300;
    }
  }

  private static final HttpClient CLIENT =
      HttpClient.newBuilder()
          .connectTimeout(Duration.ofSeconds(2))
          .version(HttpClient.Version.HTTP_1_1)
          .build();

  private Http() {}

  public static Response get(String url, Duration timeout) throws IOException {
    return send(HttpRequest.newBuilder(URI.create(url)).timeout(timeout).GET().build());
  }

  public static Response post(String url, String contentType, String body, Duration timeout)
      throws IOException {
    return post(url, contentType, body, timeout, null);
  }

  /** As above, with {@code Authorization: Bearer token} when the token is not null. */
  public static Response post(
      String url, String contentType, String body, Duration timeout, String bearerToken)
      throws IOException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url))
            .timeout(timeout)
            .header("Content-Type", contentType)
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (bearerToken != null) {
      b.header("Authorization", "Bearer " + bearerToken);
    }
    return send(b.build());
  }

  private static Response send(HttpRequest req) throws IOException {
    try {
      HttpResponse<String> r = CLIENT.send(req, HttpResponse.BodyHandlers.ofString());
      return new Response(r.statusCode(), r.body());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  /** 200 from GET url, false on any error. */
  public static boolean probe(String url) {
    try {
      return get(url, Duration.ofSeconds(2)).status() == 200;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  public static boolean listening(String host, int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
