package io.shopmesh.mesh.proxy.listener;

import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;
import java.util.function.ToIntFunction;

/**
 * Envoy's filter chain selection for a new connection ({@code filter_chain_match}), criterion by
 * criterion in the order Envoy documents:
 *
 * <ol>
 *   <li>destination port;
 *   <li>destination IP ({@code prefix_ranges}, the longest matching prefix);
 *   <li>server name (SNI): an exact name, then the longest wildcard {@code *.suffix};
 *   <li>transport protocol ({@code tls} from the TLS inspector, else {@code raw_buffer});
 *   <li>application protocols (ALPN, or what the HTTP inspector detected);
 *   <li>directly connected source IP ({@code direct_source_prefix_ranges});
 *   <li>source type ({@code SAME_IP_OR_LOOPBACK} / {@code EXTERNAL} before {@code ANY});
 *   <li>source IP ({@code source_prefix_ranges}, longest prefix);
 *   <li>source port.
 * </ol>
 *
 * <p>At each step the chains that set the criterion and match it with the most specific value stay;
 * when none of those match, the chains that do not set the criterion stay; when none remain, the
 * listener's {@code default_filter_chain} takes the connection, and without one the connection is
 * closed ("no matching filter chain"). Envoy rejects listeners where two chains would tie; {@link
 * #candidates} shows a tie as more than one chain left, {@link #select} takes the first.
 */
public final class FilterChainMatcher {
  /** Envoy's transport protocol names. */
  public static final String TLS = "tls";

  public static final String RAW_BUFFER = "raw_buffer";

  private FilterChainMatcher() {}

  /**
   * What the listener (and its listener filters) know of a new connection. {@code serverName} is
   * empty without SNI; {@code transportProtocol} is {@code tls} when the TLS inspector saw a
   * ClientHello, else {@code raw_buffer}.
   */
  public record Connection(
      String destinationIp,
      int destinationPort,
      String sourceIp,
      int sourcePort,
      String serverName,
      String transportProtocol,
      List<String> applicationProtocols) {

    public Connection {
      serverName = serverName == null ? "" : serverName.toLowerCase(Locale.ROOT);
      transportProtocol =
          transportProtocol == null || transportProtocol.isEmpty() ? RAW_BUFFER : transportProtocol;
      applicationProtocols = applicationProtocols == null ? List.of() : applicationProtocols;
    }

    /** A plain-text connection to {@code ip:port} from {@code sourceIp:sourcePort}. */
    public static Connection plain(String ip, int port, String sourceIp, int sourcePort) {
      return new Connection(ip, port, sourceIp, sourcePort, "", RAW_BUFFER, List.of());
    }

    public Connection withTls(String sni, List<String> alpn) {
      return new Connection(destinationIp, destinationPort, sourceIp, sourcePort, sni, TLS, alpn);
    }

    public Connection withApplicationProtocols(List<String> alpn) {
      return new Connection(
          destinationIp,
          destinationPort,
          sourceIp,
          sourcePort,
          serverName,
          transportProtocol,
          alpn);
    }
  }

  /** The chain for the connection: the matched one, else the default chain, else null (close). */
  public static FilterChain select(Listener l, Connection c) {
    List<FilterChain> left = candidates(l.getFilterChainsList(), c);
    if (!left.isEmpty()) {
      return left.get(0);
    }
    return l.hasDefaultFilterChain() ? l.getDefaultFilterChain() : null;
  }

  /** The chains left after every criterion (one on a valid listener; none: no match). */
  public static List<FilterChain> candidates(List<FilterChain> chains, Connection c) {
    List<FilterChain> left = chains;
    left =
        step(
            left,
            FilterChainMatch::hasDestinationPort,
            m -> m.getDestinationPort().getValue() == c.destinationPort() ? 1 : 0);
    left =
        step(
            left,
            m -> m.getPrefixRangesCount() > 0,
            m -> longest(m.getPrefixRangesList(), c.destinationIp()));
    left = step(left, m -> m.getServerNamesCount() > 0, m -> serverNameRank(m, c.serverName()));
    left =
        step(
            left,
            m -> !m.getTransportProtocol().isEmpty(),
            m -> m.getTransportProtocol().equals(c.transportProtocol()) ? 1 : 0);
    left =
        step(
            left,
            m -> m.getApplicationProtocolsCount() > 0,
            m -> {
              for (String p : c.applicationProtocols()) {
                if (m.getApplicationProtocolsList().contains(p)) {
                  return 1;
                }
              }
              return 0;
            });
    left =
        step(
            left,
            m -> m.getDirectSourcePrefixRangesCount() > 0,
            m -> longest(m.getDirectSourcePrefixRangesList(), c.sourceIp()));
    left =
        step(
            left,
            m -> m.getSourceType() != FilterChainMatch.ConnectionSourceType.ANY,
            m -> sourceTypeMatches(m.getSourceType(), c) ? 1 : 0);
    left =
        step(
            left,
            m -> m.getSourcePrefixRangesCount() > 0,
            m -> longest(m.getSourcePrefixRangesList(), c.sourceIp()));
    left =
        step(
            left,
            m -> m.getSourcePortsCount() > 0,
            m -> m.getSourcePortsList().contains(c.sourcePort()) ? 1 : 0);
    return left;
  }

  /**
   * One criterion: the chains that set it and match with the highest rank (rank 0 = no match); if
   * none match, the chains that leave it unset.
   */
  private static List<FilterChain> step(
      List<FilterChain> chains,
      Predicate<FilterChainMatch> isSet,
      ToIntFunction<FilterChainMatch> rank) {
    int best = 0;
    List<FilterChain> bestChains = new ArrayList<>();
    List<FilterChain> unset = new ArrayList<>();
    for (FilterChain fc : chains) {
      FilterChainMatch m = fc.getFilterChainMatch();
      if (!isSet.test(m)) {
        unset.add(fc);
        continue;
      }
      int r = rank.applyAsInt(m);
      if (r > best) {
        best = r;
        bestChains.clear();
      }
      if (r > 0 && r == best) {
        bestChains.add(fc);
      }
    }
    if (unset.size() == chains.size()) {
      return chains;
    }
    return best > 0 ? bestChains : unset;
  }

  /** 1 + the longest matching prefix length (a /0 matches everything, ahead of unset), or 0. */
  private static int longest(List<CidrRange> ranges, String ip) {
    byte[] addr = parse(ip);
    if (addr == null) {
      return 0;
    }
    int best = 0;
    for (CidrRange r : ranges) {
      byte[] net = parse(r.getAddressPrefix());
      int bits =
          r.hasPrefixLen() ? r.getPrefixLen().getValue() : (net == null ? 0 : net.length * 8);
      if (net != null && contains(net, bits, addr)) {
        best = Math.max(best, bits + 1);
      }
    }
    return best;
  }

  private static byte[] parse(String ip) {
    if (ip == null || ip.isEmpty() || !(ip.indexOf(':') >= 0 || Character.isDigit(ip.charAt(0)))) {
      return null;
    }
    try {
      return InetAddress.getByName(ip).getAddress();
    } catch (UnknownHostException e) {
      return null;
    }
  }

  static boolean contains(byte[] net, int bits, byte[] addr) {
    if (net.length != addr.length || bits > net.length * 8) {
      return false;
    }
    for (int i = 0; i < bits; i++) {
      int mask = 0x80 >> (i % 8);
      if ((net[i / 8] & mask) != (addr[i / 8] & mask)) {
        return false;
      }
    }
    return true;
  }

  /**
   * An exact name ranks above every wildcard; a wildcard {@code *.b.c} matches any name ending in
   * {@code .b.c} (one or more labels before it), the longer suffix first, as Envoy looks up {@code
   * *.b.c} before {@code *.c}.
   */
  private static int serverNameRank(FilterChainMatch m, String sni) {
    if (sni.isEmpty()) {
      return 0;
    }
    int best = 0;
    for (String raw : m.getServerNamesList()) {
      String s = raw.toLowerCase(Locale.ROOT);
      if (s.equals(sni)) {
        return Integer.MAX_VALUE;
      }
      if (s.startsWith("*.") && sni.length() > s.length() - 1 && sni.endsWith(s.substring(1))) {
        best = Math.max(best, s.length());
      }
    }
    return best;
  }

  private static boolean sourceTypeMatches(FilterChainMatch.ConnectionSourceType t, Connection c) {
    boolean local = isLocal(c);
    return switch (t) {
      case SAME_IP_OR_LOOPBACK -> local;
      case EXTERNAL -> !local;
      default -> true;
    };
  }

  private static boolean isLocal(Connection c) {
    if (c.sourceIp() == null || c.sourceIp().isEmpty()) {
      return false;
    }
    if (c.sourceIp().equals(c.destinationIp())) {
      return true;
    }
    byte[] a = parse(c.sourceIp());
    try {
      return a != null && InetAddress.getByAddress(a).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
