package io.shopmesh.mesh.proxy.listener;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Envoy's {@code envoy.filters.listener.http_inspector}: on a plain-text connection, detects
 * HTTP/1.x from the request line or HTTP/2 from the prior-knowledge preface and sets the
 * application protocol ({@code http/1.0}, {@code http/1.1}, {@code h2c}); anything else leaves it
 * unset.
 */
public final class HttpInspector {
  private static final byte[] H2_PREFACE =
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  /** Envoy's inspector reads up to 64 KiB looking for the end of the request line. */
  static final int MAX_READ = 64 * 1024;

  private HttpInspector() {}

  /**
   * The detected protocol (one element), empty when not HTTP, or null when more bytes are needed.
   */
  public static List<String> inspect(byte[] data, int len) {
    int n = Math.min(len, H2_PREFACE.length);
    boolean preface = true;
    for (int i = 0; i < n; i++) {
      if (data[i] != H2_PREFACE[i]) {
        preface = false;
        break;
      }
    }
    if (preface) {
      return n == H2_PREFACE.length ? List.of("h2c") : null;
    }
    for (int i = 0; i < len; i++) {
      byte c = data[i];
      if (c == '\r' || c == '\n') {
        String line = new String(data, 0, i, StandardCharsets.US_ASCII);
        String[] parts = line.split(" ");
        if (parts.length == 3
            && !parts[0].isEmpty()
            && parts[0].chars().allMatch(ch -> ch >= 'A' && ch <= 'Z')) {
          if (parts[2].equals("HTTP/1.1")) {
            return List.of("http/1.1");
          }
          if (parts[2].equals("HTTP/1.0")) {
            return List.of("http/1.0");
          }
        }
        return List.of();
      }
      if (c < 0x20 && c != '\t') {
        return List.of();
      }
    }
    return len >= MAX_READ ? List.of() : null;
  }
}
