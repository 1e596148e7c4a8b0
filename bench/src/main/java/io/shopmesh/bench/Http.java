package io.shopmesh.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;

/** One-shot HTTP/1.1 requests for readiness checks (any Host header; no client library quirks). */
final class Http {

  record Response(int status, String body) {}

  private Http() {}

  static Response get(String ip, int port, String host, String path) throws IOException {
    return request("GET", ip, port, host, path, null);
  }

  static Response request(String method, String ip, int port, String host, String path, String body)
      throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(ip, port), 2000);
      s.setSoTimeout(10_000);
      byte[] payload = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
      String head =
          method
              + " "
              + path
              + " HTTP/1.1\r\nHost: "
              + (host == null ? ip + ":" + port : host)
              + "\r\nConnection: close\r\n"
              + (body == null
                  ? ""
                  : "Content-Length: " + payload.length + "\r\nContent-Type: application/yaml\r\n")
              + "\r\n";
      OutputStream out = s.getOutputStream();
      out.write(head.getBytes(StandardCharsets.ISO_8859_1));
      out.write(payload);
      out.flush();
      InputStream in = s.getInputStream();
      String all = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      int sp = all.indexOf(' ');
      if (!all.startsWith("HTTP/") || sp < 0 || all.length() < sp + 4) {
        throw new IOException("not HTTP: " + all);
      }
      int status = Integer.parseInt(all.substring(sp + 1, sp + 4));
      int bodyAt = all.indexOf("\r\n\r\n");
      return new Response(status, bodyAt < 0 ? "" : all.substring(bodyAt + 4));
    }
  }

  /** 200 from GET, false on any error. */
  static boolean ok(String ip, int port, String host, String path) {
    try {
      return get(ip, port, host, path).status() == 200;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** Polls every 50 ms until the condition holds or the time is up. */
  static boolean await(BooleanSupplier cond, long timeoutMillis) {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
    while (System.nanoTime() < deadline) {
      if (cond.getAsBoolean()) {
        return true;
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return cond.getAsBoolean();
  }
}
