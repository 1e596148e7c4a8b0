package io.shopmesh.mesh.xds;

import java.util.Locale;

/**
 * Istio's service port protocols, from a port name prefix, appProtocol or ServiceEntry protocol.
 */
public enum Protocol {
  HTTP,
  HTTP2,
  GRPC,
  HTTPS,
  TLS,
  TCP,
  MONGO,
  REDIS,
  MYSQL,
  UNSUPPORTED;

  /** Protocol from an explicit value (ServiceEntry/Gateway {@code protocol}, appProtocol). */
  public static Protocol parse(String s) {
    if (s == null || s.isEmpty()) return UNSUPPORTED;
    return switch (s.toLowerCase(Locale.ROOT)) {
      case "http", "http1" -> HTTP;
      case "http2", "h2c" -> HTTP2;
      case "grpc", "grpc-web" -> GRPC;
      case "https" -> HTTPS;
      case "tls" -> TLS;
      case "tcp" -> TCP;
      case "mongo" -> MONGO;
      case "redis" -> REDIS;
      case "mysql" -> MYSQL;
      default -> UNSUPPORTED;
    };
  }

  /**
   * Kubernetes Service port: appProtocol wins, else the name's prefix before '-' (Istio's
   * convention).
   */
  public static Protocol fromServicePort(String name, String appProtocol) {
    if (appProtocol != null && !appProtocol.isEmpty()) {
      Protocol p = parse(appProtocol);
      if (p != UNSUPPORTED) return p;
    }
    if (name == null || name.isEmpty()) return UNSUPPORTED;
    int dash = name.indexOf('-');
    return parse(dash > 0 ? name.substring(0, dash) : name);
  }

  /**
   * HTTP routing applies. Unnamed/unknown ports are auto-detected by Istio (protocol sniffing);
   * this mesh sees only HTTP on them, so they are routed as HTTP.
   */
  public boolean isHttp() {
    return this == HTTP || this == HTTP2 || this == GRPC || this == UNSUPPORTED;
  }

  public boolean isHttp2() {
    return this == HTTP2 || this == GRPC;
  }

  public boolean isTls() {
    return this == HTTPS || this == TLS;
  }
}
