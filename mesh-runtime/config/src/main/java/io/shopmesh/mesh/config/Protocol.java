package io.shopmesh.mesh.config;

import java.util.Locale;

/**
 * Istio's port protocols (pkg/config/protocol): parsed case-insensitively, anything else is {@link
 * #UNSUPPORTED}. Used by the validator, the analyzers and the translator alike.
 */
public enum Protocol {
  GRPC,
  GRPC_WEB,
  HTTP,
  HTTP_PROXY,
  HTTP2,
  HTTPS,
  TCP,
  TLS,
  UDP,
  MONGO,
  REDIS,
  MYSQL,
  HBONE,
  UNSUPPORTED;

  /** Istio's protocol.Parse. */
  public static Protocol parse(String s) {
    if (s == null) {
      return UNSUPPORTED;
    }
    return switch (s.toLowerCase(Locale.ROOT)) {
      case "tcp" -> TCP;
      case "udp" -> UDP;
      case "grpc" -> GRPC;
      case "grpc-web" -> GRPC_WEB;
      case "http" -> HTTP;
      case "http_proxy" -> HTTP_PROXY;
      case "http2" -> HTTP2;
      case "https" -> HTTPS;
      case "tls" -> TLS;
      case "mongo" -> MONGO;
      case "redis" -> REDIS;
      case "mysql" -> MYSQL;
      case "hbone" -> HBONE;
      default -> UNSUPPORTED;
    };
  }

  /**
   * A Kubernetes Service port, as Istio's kube.ConvertProtocol: UDP by its transport protocol; else
   * appProtocol when set (with Kubernetes' {@code kubernetes.io/h2c}, {@code ws}, {@code wss}),
   * else the port name; a name's prefix before '-' is the protocol ({@code http-web}).
   */
  public static Protocol fromServicePort(String name, String appProtocol, String transport) {
    if ("UDP".equalsIgnoreCase(transport)) {
      return UDP;
    }
    String n = name == null ? "" : name;
    if (appProtocol != null && !appProtocol.isEmpty()) {
      switch (appProtocol) {
        case "kubernetes.io/h2c":
          return HTTP2;
        case "kubernetes.io/ws":
          return HTTP;
        case "kubernetes.io/wss":
          return HTTPS;
        default:
          n = appProtocol;
      }
    }
    if (n.toLowerCase(Locale.ROOT).startsWith("grpc-web")) {
      return GRPC_WEB;
    }
    int dash = n.indexOf('-');
    return parse(dash >= 0 ? n.substring(0, dash) : n);
  }

  public boolean isHttp() {
    return this == HTTP || this == HTTP2 || this == HTTP_PROXY || this == GRPC || this == GRPC_WEB;
  }

  /** The upstream speaks HTTP/2 (Istio's IsHTTP2). */
  public boolean isHttp2() {
    return this == HTTP2 || this == GRPC || this == GRPC_WEB;
  }

  public boolean isTls() {
    return this == HTTPS || this == TLS;
  }

  public boolean isTcp() {
    return this == TCP
        || this == HTTPS
        || this == TLS
        || this == MONGO
        || this == REDIS
        || this == MYSQL;
  }

  public boolean isUnsupported() {
    return this == UNSUPPORTED;
  }

  /**
   * HTTP routing applies: an HTTP protocol, or an unnamed/unknown one that Istio would sniff (this
   * mesh sees only HTTP on such ports, so they are routed as HTTP).
   */
  public boolean isHttpOrSniffed() {
    return isHttp() || isUnsupported();
  }
}
