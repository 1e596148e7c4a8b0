package io.shopmesh.mesh.wire;

/**
 * Istio's cluster names: {@code outbound|8080|v1|host}, {@code inbound|8080||} and the special
 * clusters every sidecar has.
 */
public final class ClusterNames {

  public static final String BLACK_HOLE = "BlackHoleCluster";
  public static final String PASSTHROUGH = "PassthroughCluster";
  public static final String INBOUND_PASSTHROUGH = "InboundPassthroughCluster";

  public static final String OUTBOUND = "outbound";
  public static final String INBOUND = "inbound";

  private ClusterNames() {}

  /** {@code outbound|port|subset|host}; a null subset is the empty string. */
  public static String outbound(int port, String subset, String host) {
    return OUTBOUND + "|" + port + "|" + (subset == null ? "" : subset) + "|" + host;
  }

  /** {@code inbound|port||}: the sidecar's own workload on that port. */
  public static String inbound(int port) {
    return INBOUND + "|" + port + "||";
  }

  /** Parsed {@code direction|port|subset|host}; subset is null when empty. */
  public record Parsed(String direction, int port, String subset, String host) {

    public boolean outbound() {
      return OUTBOUND.equals(direction);
    }

    public boolean inbound() {
      return INBOUND.equals(direction);
    }
  }

  /** The parts of a cluster name, or null if the name is not in that form. */
  public static Parsed parse(String name) {
    if (name == null) {
      return null;
    }
    String[] p = name.split("\\|", -1);
    if (p.length != 4) {
      return null;
    }
    try {
      return new Parsed(p[0], Integer.parseInt(p[1]), p[2].isEmpty() ? null : p[2], p[3]);
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
