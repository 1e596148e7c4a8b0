package io.shopmesh.mesh.proxy.http;

import io.shopmesh.mesh.proxy.xds.RouteConfigRef;
import java.util.List;
import java.util.Locale;

/**
 * A listener's binding to the connection manager: direction, Envoy listener name, port, and for
 * gateways the route config of each filter chain (chosen by TLS SNI).
 */
public record Binding(
    Direction direction,
    String listenerName,
    int port,
    RouteConfigRef routeConfig,
    List<SniRoute> sniRoutes) {

  public Binding(Direction direction, String listenerName, int port, RouteConfigRef routeConfig) {
    this(direction, listenerName, port, routeConfig, List.of());
  }

  /** A gateway filter chain: its SNI server names and its route config. */
  public record SniRoute(List<String> serverNames, RouteConfigRef routeConfig) {}

  /** The route config of the filter chain whose server_names match the TLS SNI. */
  public RouteConfigRef routeConfigFor(String sni) {
    if (sni != null) {
      for (SniRoute r : sniRoutes) {
        for (String n : r.serverNames()) {
          if (n.equalsIgnoreCase(sni)
              || (n.startsWith("*.")
                  && sni.toLowerCase(Locale.ROOT)
                      .endsWith(n.substring(1).toLowerCase(Locale.ROOT)))) {
            return r.routeConfig();
          }
        }
      }
    }
    return routeConfig;
  }
}
