package io.shopmesh.mesh.wire;

/**
 * Istio's route-configuration names, the names RDS is asked for: a sidecar's outbound HTTP routes
 * by port ({@code 8080}), a gateway's by server port ({@code http.8080}).
 */
public final class RouteNames {

  private static final String GATEWAY_PREFIX = "http.";

  private RouteNames() {}

  /** {@code 8080}: the sidecar's outbound routes for every HTTP service on that port. */
  public static String sidecar(int port) {
    return Integer.toString(port);
  }

  /** {@code http.8080}: a gateway's routes for its HTTP servers on that port. */
  public static String gateway(int port) {
    return GATEWAY_PREFIX + port;
  }

  /** The port a route-config name is for (either form), or -1. */
  public static int port(String name) {
    if (name == null) {
      return -1;
    }
    String digits =
        name.startsWith(GATEWAY_PREFIX) ? name.substring(GATEWAY_PREFIX.length()) : name;
    try {
      return Integer.parseInt(digits);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Whether the name is a gateway's ({@code http.PORT}). */
  public static boolean isGateway(String name) {
    return name != null && name.startsWith(GATEWAY_PREFIX) && port(name) >= 0;
  }
}
