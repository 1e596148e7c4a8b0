package io.shopmesh.mesh.simulation;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilterChainMatchPredicate;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.shopmesh.mesh.proxy.listener.FilterChainMatcher;
import io.shopmesh.mesh.proxy.listener.FilterChainMatcher.Connection;
import io.shopmesh.mesh.proxy.router.RouteTable;
import io.shopmesh.mesh.wire.ListenerNames;
import io.shopmesh.mesh.wire.Wellknown;
import io.shopmesh.mesh.xds.XdsResources;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Sends one simulated call through a proxy's generated resources the way Envoy would: a listener by
 * address and port (the virtual inbound listener for inbound calls, the virtual outbound listener
 * when no listener has the port), the filter chain by Envoy's filter chain match sieve (destination
 * port, source prefix, server names, transport protocol, application protocols), the HTTP
 * connection manager's route config, then the virtual host and route chosen by the proxy's own
 * {@link RouteTable}. Reports what Istio's simulation harness reports.
 */
final class Simulation {

  static final String ERR_NO_LISTENER = "no listener matched";
  static final String ERR_NO_FILTER_CHAIN = "no filter chains matched";
  static final String ERR_NO_ROUTE = "no route matched";
  static final String ERR_TLS_REDIRECT = "tls required, sending 301";
  static final String ERR_NO_VIRTUAL_HOST = "no virtual host matched";
  static final String ERR_MULTIPLE_FILTER_CHAIN = "multiple filter chains matched";
  static final String ERR_PROTOCOL = "protocol error";
  static final String ERR_TLS = "invalid TLS";
  static final String ERR_MTLS = "invalid mTLS";

  static final String HTTP_INSPECTOR = "envoy.filters.listener.http_inspector";

  /** One call: what the client sends and how it reaches the proxy. */
  record Call(
      String address,
      int port,
      String path,
      String protocol,
      String tls,
      String alpn,
      String host,
      String sni,
      String mode,
      Map<String, String> headers) {

    boolean plaintext() {
      return "plaintext".equals(tls);
    }

    /** Defaults as Istio's harness fills them. */
    Call withDefaults() {
      String p = path == null || path.isEmpty() ? "/" : path;
      String t = tls == null || tls.isEmpty() ? "plaintext" : tls;
      String a = address == null || address.isEmpty() ? "1.3.3.7" : address;
      String s = sni;
      if ((s == null || s.isEmpty()) && "tls".equals(t)) {
        s = host;
      }
      String al = alpn;
      if ((al == null || al.isEmpty()) && "mtls".equals(t)) {
        al =
            switch (protocol) {
              case "http" -> "istio-http/1.1";
              case "http2" -> "istio-h2";
              default -> "istio";
            };
      }
      if ((al == null || al.isEmpty()) && "tls".equals(t)) {
        al =
            switch (protocol) {
              case "http" -> "http/1.1";
              case "http2" -> "h2";
              default -> "";
            };
      }
      return new Call(
          a,
          port,
          p,
          protocol,
          t,
          al == null ? "" : al,
          host,
          s == null ? "" : s,
          mode == null ? "outbound" : mode,
          headers == null ? Map.of() : headers);
    }
  }

  /** What happened to the call: each field as Istio's simulation.Result names it. */
  record Result(
      String error,
      String listener,
      String filterChain,
      String routeConfig,
      String virtualHost,
      String route,
      String cluster) {

    static Result error(String error) {
      return new Result(error, "", "", "", "", "", "");
    }

    Map<String, String> fields() {
      Map<String, String> m = new LinkedHashMap<>();
      m.put("error", error);
      m.put("listener", listener);
      m.put("filterChain", filterChain);
      m.put("routeConfig", routeConfig);
      m.put("virtualHost", virtualHost);
      m.put("route", route);
      m.put("cluster", cluster);
      return m;
    }
  }

  private final XdsResources resources;

  Simulation(XdsResources resources) {
    this.resources = resources;
  }

  Result run(Call input) {
    Call in = input.withDefaults();
    String error = "";
    String listenerName = "";
    String chainName = "";
    String routeConfigName = "";
    String vhostName = "";
    String routeName = "";
    String clusterName = "";
    if (!in.alpn().isEmpty() && in.plaintext()) {
      return Result.error("invalid call, ALPN can only be sent in TLS requests");
    }
    Listener l = matchListener(in);
    if (l == null) {
      return Result.error(ERR_NO_LISTENER);
    }
    listenerName = l.getName();
    boolean tlsInspector = hasFilterOnPort(l, Wellknown.TLS_INSPECTOR, in.port());
    String alpn = tlsInspector ? in.alpn() : "";
    if (hasFilterOnPort(l, HTTP_INSPECTOR, in.port()) && in.plaintext()) {
      String a =
          switch (in.protocol()) {
            case "http" -> "http/1.1";
            case "http2" -> "h2c";
            default -> "";
          };
      if (!a.isEmpty()) {
        alpn = a;
      }
    }
    FilterChain fc;
    try {
      fc = matchFilterChain(l, in, alpn, tlsInspector);
    } catch (NoChain e) {
      return new Result(e.getMessage(), listenerName, "", "", "", "", "");
    }
    chainName = fc.getName();
    boolean terminatesTls = fc.hasTransportSocket();
    if (terminatesTls && in.plaintext()) {
      return new Result(ERR_TLS, listenerName, chainName, "", "", "", "");
    }
    if (terminatesTls && requiresMtls(fc) != "mtls".equals(in.tls())) {
      return new Result(ERR_MTLS, listenerName, chainName, "", "", "", "");
    }
    HttpConnectionManager hcm = hcm(fc);
    if (hcm != null) {
      if (!in.plaintext() && !terminatesTls) {
        return new Result(ERR_PROTOCOL, listenerName, chainName, "", "", "", "");
      }
      if (!"http".equals(in.protocol()) && !"http2".equals(in.protocol())) {
        return new Result(ERR_PROTOCOL, listenerName, chainName, "", "", "", "");
      }
      RouteConfiguration rc;
      if (hcm.hasRouteConfig()) {
        rc = hcm.getRouteConfig();
      } else {
        routeConfigName = hcm.getRds().getRouteConfigName();
        rc = resources.route(routeConfigName);
      }
      if (rc == null) {
        return new Result(
            ERR_NO_VIRTUAL_HOST, listenerName, chainName, routeConfigName, "", "", "");
      }
      RouteTable table;
      try {
        table = new RouteTable(rc);
      } catch (IllegalArgumentException e) {
        return new Result(
            "route config rejected: " + e.getMessage(),
            listenerName,
            chainName,
            routeConfigName,
            "",
            "",
            "");
      }
      RouteTable.VHost vh = table.virtualHost(in.host());
      if (vh == null) {
        return new Result(
            ERR_NO_VIRTUAL_HOST, listenerName, chainName, routeConfigName, "", "", "");
      }
      vhostName = vh.name;
      VirtualHost vhProto = virtualHostProto(rc, vh);
      if (vhProto != null
          && vhProto.getRequireTls() == VirtualHost.TlsRequirementType.ALL
          && in.plaintext()) {
        return new Result(
            ERR_TLS_REDIRECT, listenerName, chainName, routeConfigName, vhostName, "", "");
      }
      RouteTable.CompiledRoute r = vh.match(new CallRequest(in));
      if (r == null) {
        return new Result(
            ERR_NO_ROUTE, listenerName, chainName, routeConfigName, vhostName, "", "");
      }
      routeName = r.name();
      if (r.forward() != null) {
        Route proto = vhProto == null ? null : vhProto.getRoutes(vh.routes().indexOf(r));
        // Istio's harness reports the route's single cluster; a weighted route reports none
        boolean weighted = proto != null && proto.getRoute().hasWeightedClusters();
        clusterName = weighted ? "" : r.forward().clusters().get(0).cluster();
      }
    } else {
      TcpProxy tcp = tcpProxy(fc);
      if (tcp != null) {
        clusterName = tcp.getCluster();
      }
    }
    return new Result(
        error, listenerName, chainName, routeConfigName, vhostName, routeName, clusterName);
  }

  /**
   * The clusters that the virtual host listing {@code domain} in route config {@code name} routes
   * to, one per route in order (empty for a route that forwards to no single cluster); null when no
   * virtual host lists the domain. The virtual host is the one the proxy's {@link RouteTable}
   * selects for the domain as a Host header.
   */
  List<String> virtualHostClusters(String name, String domain) {
    RouteConfiguration rc = resources.route(name);
    if (rc == null) {
      return null;
    }
    RouteTable.VHost vh = new RouteTable(rc).virtualHost(domain);
    if (vh == null) {
      return null;
    }
    VirtualHost proto = virtualHostProto(rc, vh);
    if (proto == null || !proto.getDomainsList().contains(domain)) {
      return null;
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < vh.routes().size(); i++) {
      RouteTable.CompiledRoute r = vh.routes().get(i);
      boolean weighted = proto.getRoutes(i).getRoute().hasWeightedClusters();
      out.add(r.forward() == null || weighted ? "" : r.forward().clusters().get(0).cluster());
    }
    return out;
  }

  /** The route configuration's virtual host that the proxy's table compiled as {@code vh}. */
  private static VirtualHost virtualHostProto(RouteConfiguration rc, RouteTable.VHost vh) {
    for (VirtualHost v : rc.getVirtualHostsList()) {
      if (v.getName().equals(vh.name) && v.getRoutesCount() == vh.routes().size()) {
        return v;
      }
    }
    return null;
  }

  /** Inbound calls enter the virtual inbound listener; others by address, then by port only. */
  private Listener matchListener(Call in) {
    if ("inbound".equals(in.mode())) {
      return resources.listener(ListenerNames.VIRTUAL_INBOUND);
    }
    for (Listener l : resources.listeners()) {
      if (matchAddress(l, in.address(), in.port())) {
        return l;
      }
    }
    for (Listener l : resources.listeners()) {
      if (matchAddress(l, "0.0.0.0", in.port())) {
        return l;
      }
    }
    return resources.listener(ListenerNames.VIRTUAL_OUTBOUND);
  }

  private static boolean matchAddress(Listener l, String address, int port) {
    SocketAddress sa = l.getAddress().getSocketAddress();
    return sa.getAddress().equals(address) && sa.getPortValue() == port;
  }

  private static boolean hasFilterOnPort(Listener l, String filter, int port) {
    for (ListenerFilter f : l.getListenerFiltersList()) {
      if (f.getName().equals(filter)) {
        return !f.hasFilterDisabled() || !disabled(f.getFilterDisabled(), port);
      }
    }
    return false;
  }

  /** Evaluates a listener filter's filter_disabled predicate for a destination port. */
  private static boolean disabled(ListenerFilterChainMatchPredicate p, int port) {
    return switch (p.getRuleCase()) {
      case OR_MATCH -> p.getOrMatch().getRulesList().stream().anyMatch(r -> disabled(r, port));
      case AND_MATCH -> p.getAndMatch().getRulesList().stream().allMatch(r -> disabled(r, port));
      case NOT_MATCH -> !disabled(p.getNotMatch(), port);
      case ANY_MATCH -> p.getAnyMatch();
      case DESTINATION_PORT_RANGE ->
          port >= p.getDestinationPortRange().getStart()
              && port < p.getDestinationPortRange().getEnd();
      default -> false;
    };
  }

  private static final class NoChain extends Exception {
    NoChain(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * The proxy's own filter chain selection ({@link FilterChainMatcher}): the TLS inspector gives
   * the SNI and ALPN of a TLS call, else the connection is {@code raw_buffer} (with the HTTP
   * inspector's protocol); a tie is Istio's "multiple filter chains" error.
   */
  private FilterChain matchFilterChain(Listener l, Call in, String alpn, boolean tlsInspector)
      throws NoChain {
    // as Istio's harness, a call's SNI is matched even when the call leaves TLS unset
    Connection c =
        new Connection(
            in.address(),
            in.port(),
            "",
            0,
            in.sni(),
            tlsInspector && !in.plaintext()
                ? FilterChainMatcher.TLS
                : FilterChainMatcher.RAW_BUFFER,
            alpn.isEmpty() ? List.of() : List.of(alpn));
    List<FilterChain> chains = FilterChainMatcher.candidates(l.getFilterChainsList(), c);
    if (chains.size() > 1) {
      throw new NoChain(ERR_MULTIPLE_FILTER_CHAIN);
    }
    if (chains.isEmpty()) {
      if (l.hasDefaultFilterChain()) {
        return l.getDefaultFilterChain();
      }
      throw new NoChain(ERR_NO_FILTER_CHAIN);
    }
    return chains.get(0);
  }

  /** A TLS-terminating chain that asks for the mesh certificate and a client certificate. */
  private static boolean requiresMtls(FilterChain fc) {
    try {
      DownstreamTlsContext tls =
          fc.getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class);
      CommonTlsContext common = tls.getCommonTlsContext();
      if (common.getTlsCertificateSdsSecretConfigsCount() == 0) {
        return false;
      }
      if (!"default".equals(common.getTlsCertificateSdsSecretConfigs(0).getName())) {
        return false;
      }
      return tls.getRequireClientCertificate().getValue();
    } catch (InvalidProtocolBufferException e) {
      return false;
    }
  }

  private static HttpConnectionManager hcm(FilterChain fc) {
    for (Filter f : fc.getFiltersList()) {
      if (f.getName().equals(Wellknown.HTTP_CONNECTION_MANAGER)) {
        return unpack(f.getTypedConfig(), HttpConnectionManager.class);
      }
    }
    return null;
  }

  private static TcpProxy tcpProxy(FilterChain fc) {
    for (Filter f : fc.getFiltersList()) {
      if (f.getName().equals(Wellknown.TCP_PROXY)) {
        return unpack(f.getTypedConfig(), TcpProxy.class);
      }
    }
    return null;
  }

  private static <T extends Message> T unpack(Any any, Class<T> type) {
    try {
      return any.unpack(type);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The call as route matching sees it: path, query, pseudo headers and headers. */
  private static final class CallRequest implements RouteTable.RequestView {
    private final Call call;

    CallRequest(Call call) {
      this.call = call;
    }

    @Override
    public String path() {
      int q = call.path().indexOf('?');
      return q < 0 ? call.path() : call.path().substring(0, q);
    }

    @Override
    public Map<String, List<String>> queryParams() {
      Map<String, List<String>> out = new LinkedHashMap<>();
      int q = call.path().indexOf('?');
      if (q >= 0) {
        for (String kv : call.path().substring(q + 1).split("&")) {
          if (kv.isEmpty()) {
            continue;
          }
          int eq = kv.indexOf('=');
          out.computeIfAbsent(eq < 0 ? kv : kv.substring(0, eq), k -> new ArrayList<>())
              .add(eq < 0 ? "" : kv.substring(eq + 1));
        }
      }
      return out;
    }

    @Override
    public String header(String name) {
      return switch (name) {
        case ":method" -> "GET";
        case ":path" -> call.path();
        case ":authority", "host" -> call.host();
        case ":scheme" -> call.plaintext() ? "http" : "https";
        default -> {
          for (Map.Entry<String, String> e : call.headers().entrySet()) {
            if (e.getKey().toLowerCase(Locale.ROOT).equals(name)) {
              yield e.getValue();
            }
          }
          yield null;
        }
      };
    }
  }
}
