package io.shopmesh.mesh.wire;

/**
 * Istio's listener names and the names of the filter chains and connection-manager stat prefixes
 * derived from them.
 */
public final class ListenerNames {

  public static final String VIRTUAL_OUTBOUND = "virtualOutbound";
  public static final String VIRTUAL_INBOUND = "virtualInbound";

  /** The address every listener binds in Istio's names. */
  public static final String WILDCARD = "0.0.0.0";

  private ListenerNames() {}

  /** {@code 0.0.0.0_8080}: an outbound or gateway listener, or an inbound filter chain. */
  public static String forPort(int port) {
    return WILDCARD + "_" + port;
  }

  /** An outbound listener bound to a service address, as Istio names it: {@code 1.2.3.4_82}. */
  public static String of(String address, int port) {
    return address + "_" + port;
  }

  /**
   * The default filter chain of an outbound listener, for what matches none of its chains (Istio's
   * util.PassthroughFilterChain): tcp_proxy to PassthroughCluster or BlackHoleCluster.
   */
  public static final String PASSTHROUGH_FILTER_CHAIN = "PassthroughFilterChain";

  /** The port of a {@code 0.0.0.0_PORT} name, or -1. */
  public static int port(String name) {
    String prefix = WILDCARD + "_";
    if (name == null || !name.startsWith(prefix)) {
      return -1;
    }
    try {
      return Integer.parseInt(name.substring(prefix.length()));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** {@code outbound_0.0.0.0_8080}: the HTTP connection manager's stat prefix, outbound. */
  public static String outboundStatPrefix(int port) {
    return ClusterNames.OUTBOUND + "_" + forPort(port);
  }

  /** {@code inbound_0.0.0.0_8080}: the HTTP connection manager's stat prefix, inbound. */
  public static String inboundStatPrefix(int port) {
    return ClusterNames.INBOUND + "_" + forPort(port);
  }

  /** {@code inbound|http|8080}: the name of the inbound HTTP route of a port. */
  public static String inboundHttpRoute(int port) {
    return ClusterNames.INBOUND + "|http|" + port;
  }

  /** virtualOutbound's chain for traffic to the listener's own port (a loop). */
  public static final String VIRTUAL_OUTBOUND_BLACKHOLE = VIRTUAL_OUTBOUND + "-blackhole";

  /** virtualOutbound's chain for anything no port listener took. */
  public static final String VIRTUAL_OUTBOUND_CATCHALL = VIRTUAL_OUTBOUND + "-catchall-tcp";

  /** virtualInbound's chain for traffic to the inbound port itself (a loop). */
  public static final String VIRTUAL_INBOUND_BLACKHOLE = VIRTUAL_INBOUND + "-blackhole";
}
