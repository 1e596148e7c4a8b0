package io.shopmesh.mesh.config;

import java.util.Locale;

/** Istio's port protocols, parsed case-insensitively as Istio does. */
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

  public boolean isHttp() {
    return this == HTTP || this == HTTP2 || this == HTTP_PROXY || this == GRPC || this == GRPC_WEB;
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
}
