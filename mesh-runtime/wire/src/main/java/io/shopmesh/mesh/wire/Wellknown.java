package io.shopmesh.mesh.wire;

/**
 * Envoy's well-known extension names used in the listeners, routes and clusters this mesh sends.
 */
public final class Wellknown {

  public static final String HTTP_CONNECTION_MANAGER =
      "envoy.filters.network.http_connection_manager";
  public static final String TCP_PROXY = "envoy.filters.network.tcp_proxy";

  public static final String FAULT = "envoy.filters.http.fault";
  public static final String CORS = "envoy.filters.http.cors";
  public static final String ROUTER = "envoy.filters.http.router";

  public static final String ORIGINAL_DST = "envoy.filters.listener.original_dst";
  public static final String TLS_INSPECTOR = "envoy.filters.listener.tls_inspector";
  public static final String HTTP_INSPECTOR = "envoy.filters.listener.http_inspector";

  public static final String TRANSPORT_SOCKET_TLS = "envoy.transport_sockets.tls";

  /** Filter-metadata namespace of an endpoint's transport socket match. */
  public static final String TRANSPORT_SOCKET_MATCH = "envoy.transport_socket_match";

  public static final String PREVIOUS_HOSTS = "envoy.retry_host_predicates.previous_hosts";

  private Wellknown() {}
}
