package io.shopmesh.mesh.proxy.xds;

import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;

/**
 * Where an HTTP connection manager takes its RouteConfiguration from: RDS by name, or inline in one
 * filter chain of a listener (Envoy's {@code route_specifier} oneof).
 */
public sealed interface RouteConfigRef {

  /** rds.route_config_name. */
  record Rds(String name) implements RouteConfigRef {}

  /** route_config inline in filter chain {@code chain} of a listener ({@link #DEFAULT_CHAIN}). */
  record Inline(String listener, int chain) implements RouteConfigRef {
    /** The listener's default_filter_chain. */
    public static final int DEFAULT_CHAIN = -1;
  }

  /** The reference of an HCM in a listener's filter chain, or null when it names no routes. */
  static RouteConfigRef of(String listener, int chain, HttpConnectionManager hcm) {
    if (hcm.hasRds()) {
      return new Rds(hcm.getRds().getRouteConfigName());
    }
    return hcm.hasRouteConfig() ? new Inline(listener, chain) : null;
  }
}
