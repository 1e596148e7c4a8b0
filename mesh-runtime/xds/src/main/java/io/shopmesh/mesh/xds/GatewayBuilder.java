package io.shopmesh.mesh.xds;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.fabric8.istio.api.api.networking.v1alpha3.L4MatchAttributes;
import io.fabric8.istio.api.api.networking.v1alpha3.Server;
import io.fabric8.istio.api.api.networking.v1alpha3.ServerTLSSettings;
import io.fabric8.istio.api.api.networking.v1alpha3.ServerTLSSettingsTLSmode;
import io.fabric8.istio.api.api.networking.v1alpha3.TCPRoute;
import io.fabric8.istio.api.api.networking.v1alpha3.TLSMatchAttributes;
import io.fabric8.istio.api.api.networking.v1alpha3.TLSRoute;
import io.fabric8.istio.api.networking.v1.Gateway;
import io.fabric8.istio.api.networking.v1.VirtualService;
import io.shopmesh.mesh.config.Hosts;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.Protocol;
import io.shopmesh.mesh.config.model.MeshService;
import io.shopmesh.mesh.wire.ListenerNames;
import io.shopmesh.mesh.wire.RouteNames;
import io.shopmesh.mesh.xds.authz.RbacBuilder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A router's config from the Gateways that select it, as Istio's gateway.go: server selection by
 * labels, one listener per listener port (TLS-terminating servers as their own filter chains by
 * SNI, plain HTTP through {@code http.PORT}), and the route configs with the routes of the bound
 * VirtualServices.
 */
public final class GatewayBuilder {

  private final PushContext ctx;
  private final HttpRouteTranslator translator;

  public GatewayBuilder(PushContext ctx) {
    this.ctx = ctx;
    this.translator = ctx.routeTranslator();
  }

  /** Gateway servers selected by the router's labels, grouped by listener (target) port. */
  public Map<Integer, List<GatewayServer>> gatewayServers(ProxyNode proxy) {
    Map<Integer, List<GatewayServer>> out = new TreeMap<>();
    // Istio's mergeGateways: gateways by creation time, name, namespace; the first plaintext
    // server of a port decides it, later servers merge only when both are HTTP
    Map<Integer, Protocol> plaintext = new HashMap<>();
    List<Located<Gateway>> gateways = new ArrayList<>(ctx.gateways());
    gateways.sort(
        Comparator.comparing((Located<Gateway> g) -> PushContext.creationTime(g))
            .thenComparing(Located::name)
            .thenComparing(Located::namespace));
    for (Located<Gateway> gw : gateways) {
      var spec = gw.object().getSpec();
      if (spec == null || spec.getServers() == null) {
        continue;
      }
      if (!PushContext.selects(spec.getSelector(), proxy.labels())) {
        continue;
      }
      for (Server s : spec.getServers()) {
        if (s.getPort() == null || s.getPort().getNumber() == null) {
          continue;
        }
        int number = s.getPort().getNumber().intValue();
        int target = targetPort(proxy, number);
        Protocol protocol = Protocol.parse(s.getPort().getProtocol());
        Protocol current = plaintext.get(target);
        if (current != null && !(current.isHttp() && protocol.isHttp())) {
          continue;
        }
        if (current == null && s.getTls() == null) {
          plaintext.put(target, protocol);
        }
        out.computeIfAbsent(target, k -> new ArrayList<>())
            .add(
                new GatewayServer(
                    gw.namespace() + "/" + gw.name(), gw, s, number, target, protocol));
      }
    }
    return out;
  }

  /** One Gateway server as the router serves it on a listener port. */
  public record GatewayServer(
      String gateway,
      Located<Gateway> source,
      Server server,
      int port,
      int listenerPort,
      Protocol protocol) {

    /** A TLS server in PASSTHROUGH mode: the router forwards by SNI, as the VS tls routes say. */
    public boolean passthrough() {
      ServerTLSSettings tls = server.getTls();
      return tls != null && tls.getMode() == ServerTLSSettingsTLSmode.PASSTHROUGH;
    }

    /** A plaintext server of an opaque protocol (TCP, Mongo...): the VS tcp routes forward it. */
    public boolean opaqueTcp() {
      return server.getTls() == null && !protocol.isHttpOrSniffed();
    }

    /** An HTTPS server in SIMPLE or MUTUAL mode: the router terminates TLS and routes HTTP. */
    public boolean terminatesTls() {
      ServerTLSSettings tls = server.getTls();
      return protocol == Protocol.HTTPS
          && tls != null
          && (tls.getMode() == ServerTLSSettingsTLSmode.SIMPLE
              || tls.getMode() == ServerTLSSettingsTLSmode.MUTUAL);
    }
  }

  /** The Service port that exposes the gateway pod maps server port 80 to listener 8080. */
  int targetPort(ProxyNode proxy, int number) {
    for (MeshService svc : ctx.servicesSelecting(proxy.namespace(), proxy.labels())) {
      MeshService.Port p = svc.port(number);
      if (p != null && p.targetPort() > 0) {
        return p.targetPort();
      }
    }
    return number;
  }

  public List<RouteConfiguration> buildRoutes(ProxyNode proxy) {
    List<RouteConfiguration> out = new ArrayList<>();
    gatewayServers(proxy)
        .forEach(
            (listenerPort, servers) -> {
              List<GatewayServer> http =
                  servers.stream().filter(s -> s.protocol().isHttpOrSniffed()).toList();
              if (!http.isEmpty()) {
                out.add(gatewayRouteConfig(gatewayRouteName(listenerPort), http, proxy));
              }
              for (GatewayServer gs : servers) {
                if (gs.terminatesTls()) {
                  out.add(gatewayRouteConfig(httpsRouteName(gs), List.of(gs), proxy));
                }
              }
            });
    return out;
  }

  /** Istio's name for a TLS-terminating server's routes: https.443.https.gateway.namespace. */
  public static String httpsRouteName(GatewayServer gs) {
    String[] nsName = gs.gateway().split("/", 2);
    String portName =
        gs.server().getPort().getName() == null ? "" : gs.server().getPort().getName();
    return "https." + gs.port() + "." + portName + "." + nsName[1] + "." + nsName[0];
  }

  /**
   * Istio's buildGatewayHTTPRouteConfig: for each server, the VirtualServices bound to its gateway
   * (creation time, then name, then namespace) whose hosts intersect the server hosts visible to
   * the VirtualService's namespace; one virtual host per intersecting host ({@code host:port},
   * domain the host), the routes of several VirtualServices appended in that order with catch-all
   * routes moved last; {@code httpsRedirect} sets {@code require_tls: ALL}, with a virtual host
   * without routes for server hosts no VirtualService covers; virtual hosts with the same routes
   * collapse into one (PILOT_ENABLE_ROUTE_COLLAPSE_OPTIMIZATION); nothing bound: {@code
   * blackhole:<port>} without routes (404 NR).
   */
  RouteConfiguration gatewayRouteConfig(
      String routeName, List<GatewayServer> http, ProxyNode proxy) {
    Map<String, VirtualHost.Builder> vhosts = new LinkedHashMap<>();
    Map<String, List<Route>> routesByHost = new HashMap<>();
    for (GatewayServer gs : http) {
      String gatewayNamespace = gs.source().namespace();
      List<String> hosts = serverHosts(gs.server().getHosts(), gatewayNamespace);
      boolean redirect =
          gs.server().getTls() != null
              && Boolean.TRUE.equals(gs.server().getTls().getHttpsRedirect());
      List<Located<VirtualService>> bound = ctx.gatewayVirtualServices(gs.gateway());
      bound.sort(PushContext.BY_CREATION_TIME);
      for (Located<VirtualService> vs : bound) {
        List<String> vsHosts = vs.object().getSpec().getHosts();
        if (vsHosts == null) {
          continue;
        }
        List<String> intersecting = intersection(namesForNamespace(hosts, vs.namespace()), vsHosts);
        if (intersecting.isEmpty()) {
          continue;
        }
        List<Route> routes = translator.translateRoutes(vs, gs.port(), gs.gateway(), proxy);
        if (routes.isEmpty()) {
          continue;
        }
        for (String h : intersecting) {
          String hostname = h.toLowerCase(Locale.ROOT);
          VirtualHost.Builder vh = vhosts.get(hostname);
          if (vh == null) {
            vh =
                VirtualHost.newBuilder()
                    .setName(hostname + ":" + gs.port())
                    .addDomains(hostname)
                    .setIncludeRequestAttemptCount(true);
            vhosts.put(hostname, vh);
            routesByHost.put(hostname, new ArrayList<>());
          }
          routesByHost.get(hostname).addAll(routes);
          if (redirect) {
            vh.setRequireTls(VirtualHost.TlsRequirementType.ALL);
          }
        }
      }
      if (redirect) {
        // hosts of the server no VirtualService covers still answer with the redirect
        for (String h : hosts) {
          String hostname = stripNamespace(h).toLowerCase(Locale.ROOT);
          VirtualHost.Builder vh = vhosts.get(hostname);
          if (vh == null) {
            vh =
                VirtualHost.newBuilder()
                    .setName(hostname + ":" + gs.port())
                    .addDomains(hostname)
                    .setIncludeRequestAttemptCount(true);
            vhosts.put(hostname, vh);
            routesByHost.put(hostname, new ArrayList<>());
          }
          vh.setRequireTls(VirtualHost.TlsRequirementType.ALL);
        }
      }
    }
    List<VirtualHost> list = new ArrayList<>();
    if (vhosts.isEmpty()) {
      // no routes: Envoy answers 404 with response flag NR
      list.add(
          VirtualHost.newBuilder()
              .setName("blackhole:" + http.get(0).port())
              .addDomains("*")
              .setIncludeRequestAttemptCount(true)
              .build());
    } else {
      for (VirtualHost.Builder vh : collapse(vhosts, routesByHost)) {
        list.add(vh.build());
      }
      list.sort(Comparator.comparing(VirtualHost::getName));
    }
    // gateways match the host whatever port the client used, as Istio configures them
    return RouteConfiguration.newBuilder()
        .setName(routeName)
        .addAllVirtualHosts(list)
        .setValidateClusters(Protos.bool(false))
        .setIgnorePortInHostMatching(true)
        .build();
  }

  /**
   * Istio's collapseDuplicateRoutes: in most-specific-first host order, a virtual host whose routes
   * are the very same routes (and TLS requirement) as an earlier one's adds its domains to that
   * one. Catch-all routes are moved last first (Istio's SortVHostRoutes).
   */
  private static List<VirtualHost.Builder> collapse(
      Map<String, VirtualHost.Builder> vhosts, Map<String, List<Route>> routesByHost) {
    List<String> names = new ArrayList<>(vhosts.keySet());
    names.sort(GatewayBuilder::moreSpecificFirst);
    List<VirtualHost.Builder> out = new ArrayList<>();
    List<List<Route>> outRoutes = new ArrayList<>();
    for (String h : names) {
      VirtualHost.Builder vh = vhosts.get(h);
      List<Route> routes = routesByHost.get(h);
      VirtualHost.Builder into = null;
      for (int i = 0; i < out.size(); i++) {
        if (sameRoutes(outRoutes.get(i), routes)
            && out.get(i).getRequireTls() == vh.getRequireTls()
            && out.get(i).getIncludeRequestAttemptCount() == vh.getIncludeRequestAttemptCount()) {
          into = out.get(i);
          break;
        }
      }
      if (into != null) {
        into.addAllDomains(vh.getDomainsList());
        continue;
      }
      out.add(vh.addAllRoutes(catchAllLast(routes)));
      outRoutes.add(routes);
    }
    return out;
  }

  /** The same route objects in the same order (Istio compares the pointers). */
  private static boolean sameRoutes(List<Route> a, List<Route> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      if (a.get(i) != b.get(i)) {
        return false;
      }
    }
    return true;
  }

  /** Istio's host.MoreSpecific order: exact before wildcard, longer first, then by name. */
  static int moreSpecificFirst(String a, String b) {
    boolean aw = a.startsWith("*");
    boolean bw = b.startsWith("*");
    if (aw != bw) {
      return aw ? 1 : -1;
    }
    if (a.length() != b.length()) {
      return Integer.compare(b.length(), a.length());
    }
    return a.compareTo(b);
  }

  /** Istio's SortVHostRoutes: catch-all routes (prefix "/", regex ".*", no other match) last. */
  static List<Route> catchAllLast(List<Route> routes) {
    List<Route> out = new ArrayList<>();
    List<Route> catchAll = new ArrayList<>();
    for (Route r : routes) {
      (isCatchAll(r) ? catchAll : out).add(r);
    }
    out.addAll(catchAll);
    return out;
  }

  private static boolean isCatchAll(Route r) {
    RouteMatch m = r.getMatch();
    boolean all =
        switch (m.getPathSpecifierCase()) {
          case PREFIX -> m.getPrefix().equals("/");
          case PATH_SEPARATED_PREFIX -> m.getPathSeparatedPrefix().equals("/");
          case SAFE_REGEX -> m.getSafeRegex().getRegex().equals(".*");
          default -> false;
        };
    return all && m.getHeadersCount() == 0 && m.getQueryParametersCount() == 0;
  }

  /**
   * Server hosts as Istio's sanitizeServerHostNamespace leaves them: {@code ./host} becomes {@code
   * <gateway namespace>/host}, {@code *\/host} plain {@code host} ({@code *\/*}: every host).
   */
  static List<String> serverHosts(List<String> hosts, String gatewayNamespace) {
    if (hosts == null || hosts.isEmpty()) {
      return List.of("*");
    }
    List<String> out = new ArrayList<>();
    for (String h : hosts) {
      int slash = h.indexOf('/');
      if (slash < 0) {
        out.add(h);
        continue;
      }
      String ns = h.substring(0, slash);
      String name = h.substring(slash + 1);
      if (ns.equals(".")) {
        out.add(gatewayNamespace + "/" + name);
      } else if (ns.equals("*")) {
        if (name.equals("*")) {
          return List.of("*");
        }
        out.add(name);
      } else {
        out.add(h);
      }
    }
    return out;
  }

  /**
   * Istio's host.NamesForNamespace: the server hosts a VirtualService of {@code namespace} may bind
   * to ({@code ns/host} only from {@code ns}), without their namespace.
   */
  static List<String> namesForNamespace(List<String> hosts, String namespace) {
    List<String> out = new ArrayList<>();
    for (String h : hosts) {
      int slash = h.indexOf('/');
      if (slash >= 0) {
        String ns = h.substring(0, slash);
        if (!ns.equals(namespace) && !ns.equals("*")) {
          continue;
        }
        h = h.substring(slash + 1);
      }
      out.add(h);
    }
    return out;
  }

  /**
   * Istio's host.Names.Intersection: for each pair of overlapping hosts, the narrower one (a VS for
   * {@code *} on a {@code shop.example.com} server serves {@code shop.example.com}).
   */
  static List<String> intersection(List<String> serverHosts, List<String> vsHosts) {
    List<String> out = new ArrayList<>();
    for (String s : serverHosts) {
      for (String v : vsHosts) {
        String pick = null;
        if (Hosts.subsetOf(s, v)) {
          pick = s;
        } else if (Hosts.subsetOf(v, s)) {
          pick = v;
        }
        if (pick != null && !out.contains(pick)) {
          out.add(pick);
        }
      }
    }
    return out;
  }

  private static String stripNamespace(String h) {
    return h.contains("/") ? h.substring(h.indexOf('/') + 1) : h;
  }

  public static String gatewayRouteName(int listenerPort) {
    return RouteNames.gateway(listenerPort);
  }

  /** Router listeners: one per listener port of the selected Gateway servers. */
  public List<Listener> buildListeners(ProxyNode proxy) {
    List<Listener> out = new ArrayList<>();
    // AuthorizationPolicies that select the gateway's pods apply to its listeners too
    RbacBuilder rbac = RbacBuilder.forWorkload(ctx.config(), proxy.namespace(), proxy.labels());
    List<HttpFilter> httpRbac = rbac.buildHttp();
    List<Filter> tcpRbac = rbac.buildTcp();
    gatewayServers(proxy)
        .forEach(
            (listenerPort, servers) -> {
              Listener.Builder l =
                  Listener.newBuilder()
                      .setName(ListenerNames.forPort(listenerPort))
                      .setAddress(Protos.address("0.0.0.0", listenerPort))
                      .setTrafficDirection(TrafficDirection.OUTBOUND);
              boolean plainHttp = false;
              Map<String, FilterChain> tlsChains = new LinkedHashMap<>();
              List<FilterChain> l4Chains = new ArrayList<>();
              Set<String> sniSeen = new HashSet<>();
              for (GatewayServer gs : servers) {
                ServerTLSSettings tls = gs.server().getTls();
                if (gs.terminatesTls()) {
                  String rdsName = httpsRouteName(gs);
                  FilterChain.Builder fc =
                      FilterChain.newBuilder()
                          .setFilterChainMatch(
                              FilterChainMatch.newBuilder()
                                  .addAllServerNames(serverNames(gs.server().getHosts())))
                          .setTransportSocket(downstreamTls(tls))
                          .addFilters(
                              ListenerBuilder.hcm(
                                  ListenerBuilder.withRbac(
                                          ListenerBuilder.httpManager(
                                              ListenerNames.outboundStatPrefix(listenerPort), true),
                                          httpRbac)
                                      .setRds(
                                          Rds.newBuilder()
                                              .setConfigSource(Protos.ads())
                                              .setRouteConfigName(rdsName))
                                      .build()));
                  tlsChains.putIfAbsent(rdsName, fc.build());
                } else if (gs.passthrough()) {
                  l4Chains.addAll(passthroughChains(gs, sniSeen));
                } else if (gs.opaqueTcp()) {
                  Filter f = tcpServerFilter(gs);
                  if (f != null && l4Chains.stream().noneMatch(c -> !c.hasFilterChainMatch())) {
                    l4Chains.add(FilterChain.newBuilder().addFilters(f).build());
                  }
                } else if (gs.protocol().isHttpOrSniffed()) {
                  plainHttp = true;
                }
              }
              boolean sni = l4Chains.stream().anyMatch(FilterChain::hasFilterChainMatch);
              if (!tlsChains.isEmpty() || sni) {
                l.addListenerFilters(ListenerBuilder.tlsInspector());
              }
              l.addAllFilterChains(tlsChains.values());
              for (FilterChain c : l4Chains) {
                l.addFilterChains(
                    c.toBuilder()
                        .clearFilters()
                        .addAllFilters(tcpRbac)
                        .addAllFilters(c.getFiltersList()));
              }
              if (plainHttp) {
                l.addFilterChains(
                    FilterChain.newBuilder()
                        .addFilters(
                            ListenerBuilder.hcm(
                                ListenerBuilder.withRbac(
                                        ListenerBuilder.httpManager(
                                            ListenerNames.outboundStatPrefix(listenerPort), true),
                                        httpRbac)
                                    .setRds(
                                        Rds.newBuilder()
                                            .setConfigSource(Protos.ads())
                                            .setRouteConfigName(gatewayRouteName(listenerPort)))
                                    .build())));
              }
              if (l.getFilterChainsCount() > 0) {
                out.add(l.build());
              }
            });
    return out;
  }

  /**
   * Istio's buildGatewayNetworkFiltersFromTCPRoutes: the first tcp route of a VirtualService bound
   * to the server's gateway, with a host the server serves, whose match fits the server; null when
   * none (the server then has no filter chain).
   */
  private Filter tcpServerFilter(GatewayServer gs) {
    for (Located<VirtualService> vs : boundVirtualServices(gs)) {
      List<TCPRoute> routes = vs.object().getSpec().getTcp();
      if (routes == null) {
        continue;
      }
      for (TCPRoute r : routes) {
        if (r.getRoute() == null || r.getRoute().isEmpty()) {
          continue;
        }
        boolean match = r.getMatch() == null || r.getMatch().isEmpty();
        for (L4MatchAttributes m :
            r.getMatch() == null ? List.<L4MatchAttributes>of() : r.getMatch()) {
          match |= l4Match(m.getPort(), m.getGateways(), vs, gs);
        }
        if (match) {
          return SidecarOutboundListeners.routeFilter(ctx, vs, r.getRoute(), gs.port());
        }
      }
    }
    return null;
  }

  /**
   * Istio's buildGatewayNetworkFiltersFromTLSRoutes for a PASSTHROUGH server: a chain per tls match
   * that fits the server, matched by its SNI hosts, to the route's tcp_proxy; a match naming an SNI
   * host an earlier chain of the port has is skipped.
   */
  private List<FilterChain> passthroughChains(GatewayServer gs, Set<String> sniSeen) {
    List<FilterChain> out = new ArrayList<>();
    for (Located<VirtualService> vs : boundVirtualServices(gs)) {
      List<TLSRoute> routes = vs.object().getSpec().getTls();
      if (routes == null) {
        continue;
      }
      for (TLSRoute r : routes) {
        if (r.getRoute() == null || r.getRoute().isEmpty() || r.getMatch() == null) {
          continue;
        }
        for (TLSMatchAttributes m : r.getMatch()) {
          if (!l4Match(m.getPort(), m.getGateways(), vs, gs)) {
            continue;
          }
          List<String> sni = m.getSniHosts() == null ? List.of() : m.getSniHosts();
          if (sni.stream().anyMatch(sniSeen::contains)) {
            continue;
          }
          sniSeen.addAll(sni);
          FilterChain.Builder fc =
              FilterChain.newBuilder()
                  .addFilters(
                      SidecarOutboundListeners.routeFilter(ctx, vs, r.getRoute(), gs.port()));
          if (!sni.isEmpty() && !sni.contains("*")) {
            fc.setFilterChainMatch(
                FilterChainMatch.newBuilder().addAllServerNames(new TreeSet<>(sni)));
          }
          out.add(fc.build());
        }
      }
    }
    return out;
  }

  /** VirtualServices bound to the server's gateway that name a host the server serves. */
  private List<Located<VirtualService>> boundVirtualServices(GatewayServer gs) {
    List<Located<VirtualService>> out = new ArrayList<>();
    List<String> hosts = serverHosts(gs.server().getHosts(), gs.source().namespace());
    for (Located<VirtualService> vs : ctx.gatewayVirtualServices(gs.gateway())) {
      List<String> vsHosts = vs.object().getSpec().getHosts();
      if (vsHosts == null) {
        continue;
      }
      List<String> fq = vsHosts.stream().map(h -> Hosts.fqdn(h, vs.namespace())).toList();
      if (!intersection(namesForNamespace(hosts, vs.namespace()), fq).isEmpty()) {
        out.add(vs);
      }
    }
    return out;
  }

  /** Istio's l4SingleMatch: the match's port and gateways fit the server. */
  private static boolean l4Match(
      Long port, List<String> gateways, Located<VirtualService> vs, GatewayServer gs) {
    boolean portMatch = port == null || port == 0 || port == gs.port();
    boolean gatewayMatch = gateways == null || gateways.isEmpty();
    if (gateways != null) {
      for (String g : gateways) {
        String full = g.contains("/") ? g : vs.namespace() + "/" + g;
        gatewayMatch |= full.equals(gs.gateway());
      }
    }
    return portMatch && gatewayMatch;
  }

  private static List<String> serverNames(List<String> hosts) {
    List<String> out = new ArrayList<>();
    if (hosts == null) {
      return out;
    }
    for (String h : hosts) {
      String host = h.contains("/") ? h.substring(h.indexOf('/') + 1) : h;
      if (!host.equals("*")) {
        out.add(host);
      }
    }
    return out;
  }

  /**
   * Gateway TLS termination. serverCertificate/privateKey are files; a credentialName stands for
   * the files {@code /etc/certs/<credentialName>/tls.crt} and {@code tls.key} (a mounted secret).
   */
  static TransportSocket downstreamTls(ServerTLSSettings tls) {
    String cert = tls.getServerCertificate();
    String key = tls.getPrivateKey();
    if (tls.getCredentialName() != null) {
      cert = "/etc/certs/" + tls.getCredentialName() + "/tls.crt";
      key = "/etc/certs/" + tls.getCredentialName() + "/tls.key";
    }
    CommonTlsContext.Builder common =
        CommonTlsContext.newBuilder().addAlpnProtocols("h2").addAlpnProtocols("http/1.1");
    if (cert != null) {
      common.addTlsCertificates(
          TlsCertificate.newBuilder()
              .setCertificateChain(DataSource.newBuilder().setFilename(cert))
              .setPrivateKey(DataSource.newBuilder().setFilename(key == null ? "" : key)));
    }
    DownstreamTlsContext.Builder d = DownstreamTlsContext.newBuilder().setCommonTlsContext(common);
    if (tls.getMode() == ServerTLSSettingsTLSmode.MUTUAL) {
      d.setRequireClientCertificate(Protos.bool(true));
    }
    return TransportSocket.newBuilder()
        .setName(ClusterBuilder.TLS_SOCKET)
        .setTypedConfig(Protos.any(d.build()))
        .build();
  }
}
