package io.shopmesh.mesh.xds;

/** Istio's cluster names: {@code outbound|8080|v1|host}, {@code inbound|8080||}. */
public final class ClusterNames {

  public static final String BLACK_HOLE = "BlackHoleCluster";
  public static final String PASSTHROUGH = "PassthroughCluster";
  public static final String INBOUND_PASSTHROUGH = "InboundPassthroughCluster";

  private ClusterNames() {}

  public static String outbound(int port, String subset, String host) {
    return "outbound|" + port + "|" + (subset == null ? "" : subset) + "|" + host;
  }

  public static String inbound(int port) {
    return "inbound|" + port + "||";
  }

  /** Parsed {@code direction|port|subset|host}; null if the name is not in that form. */
  public record Parsed(String direction, int port, String subset, String host) {}

  public static Parsed parse(String name) {
    String[] p = name.split("\\|", -1);
    if (p.length != 4) return null;
    try {
      return new Parsed(p[0], Integer.parseInt(p[1]), p[2].isEmpty() ? null : p[2], p[3]);
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
