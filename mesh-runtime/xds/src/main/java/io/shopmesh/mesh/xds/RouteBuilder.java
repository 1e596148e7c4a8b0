package io.shopmesh.mesh.xds;

import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.Decorator;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.fabric8.istio.api.api.networking.v1alpha3.Destination;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPFaultInjection;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPFaultInjectionAbortGrpcStatus;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPFaultInjectionAbortHttpStatus;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPFaultInjectionDelayFixedDelay;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPMatchRequest;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPMirrorPolicy;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRedirectPort;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRetry;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRoute;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRouteDestination;
import io.fabric8.istio.api.api.networking.v1alpha3.Headers;
import io.fabric8.istio.api.api.networking.v1alpha3.HeadersHeaderOperations;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHash;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLB;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLBHttpCookie;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLBHttpHeaderName;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLBHttpQueryParameterName;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLBUseSourceIp;
import io.fabric8.istio.api.api.networking.v1alpha3.Percent;
import io.fabric8.istio.api.api.networking.v1alpha3.Server;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatch;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatchExact;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatchPrefix;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatchRegex;
import io.fabric8.istio.api.networking.v1.Gateway;
import io.fabric8.istio.api.networking.v1.VirtualService;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.Protocol;
import io.shopmesh.mesh.wire.ClusterNames;
import io.shopmesh.mesh.wire.IstioMetadata;
import io.shopmesh.mesh.wire.RouteNames;
import io.shopmesh.mesh.wire.Wellknown;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Builds RDS, as Istio's route.go: sidecar route configs named by port ({@code "8080"}) with one
 * virtual host per service and port, gateway route configs {@code http.PORT} from the Gateway
 * servers and the VirtualServices bound to them.
 */
public final class RouteBuilder {

  public static final String DEFAULT_RETRY_ON =
      "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";
  static final String FAULT_FILTER = Wellknown.FAULT;
  static final String CORS_FILTER = Wellknown.CORS;

  private final PushContext ctx;

  public RouteBuilder(PushContext ctx) {
    this.ctx = ctx;
  }

  // ---------------------------------------------------------------- sidecar

  /** The route config names a sidecar's outbound HTTP listeners refer to, in port order. */
  public List<Integer> sidecarHttpPorts() {
    Set<Integer> ports = new java.util.TreeSet<>();
    for (MeshService s : ctx.services()) {
      for (MeshService.Port p : s.ports()) {
        if (p.protocol().isHttpOrSniffed()) ports.add(p.port());
      }
    }
    return new ArrayList<>(ports);
  }

  public List<RouteConfiguration> buildSidecar(ProxyNode proxy) {
    Map<Integer, List<VirtualHost>> byPort = new TreeMap<>();
    Map<Integer, Set<String>> usedDomains = new TreeMap<>();
    for (MeshService svc : ctx.services()) {
      Located<VirtualService> vs = sidecarVirtualService(svc.hostname());
      for (MeshService.Port port : svc.ports()) {
        if (!port.protocol().isHttpOrSniffed()) continue;
        Set<String> used = usedDomains.computeIfAbsent(port.port(), k -> new HashSet<>());
        List<String> domains = new ArrayList<>();
        for (String d : domains(svc, port.port(), proxy.namespace())) {
          if (used.add(d)) domains.add(d);
        }
        if (domains.isEmpty()) continue;
        String vhName = svc.hostname() + ":" + port.port();
        List<Route> routes =
            vs == null ? List.of() : translateRoutes(vs, port.port(), vhName, null);
        if (routes.isEmpty()) routes = List.of(defaultRoute(svc, port.port(), vhName));
        byPort
            .computeIfAbsent(port.port(), k -> new ArrayList<>())
            .add(
                VirtualHost.newBuilder()
                    .setName(vhName)
                    .addAllDomains(domains)
                    .addAllRoutes(routes)
                    .setIncludeRequestAttemptCount(true)
                    .build());
      }
    }
    List<RouteConfiguration> out = new ArrayList<>();
    byPort.forEach(
        (port, vhosts) -> {
          List<VirtualHost> all = new ArrayList<>(vhosts);
          all.sort(java.util.Comparator.comparing(VirtualHost::getName));
          all.add(allowAny());
          out.add(
              RouteConfiguration.newBuilder()
                  .setName(RouteNames.sidecar(port))
                  .addAllVirtualHosts(all)
                  .setValidateClusters(Protos.bool(false))
                  .build());
        });
    return out;
  }

  /**
   * The first sidecar VirtualService whose hosts cover this service host (exact before wildcard).
   */
  Located<VirtualService> sidecarVirtualService(String hostname) {
    return ctx.sidecarVirtualService(hostname);
  }

  /**
   * Istio's virtual host domains: FQDN, then short name, name.namespace.svc, name.namespace (same
   * namespace) or name.namespace, name.namespace.svc (other namespaces), each without and with the
   * port.
   */
  static List<String> domains(MeshService svc, int port, String proxyNamespace) {
    List<String> names = new ArrayList<>();
    names.add(svc.hostname());
    if (svc.kubernetes()) {
      // Istio's generateAltVirtualHostsForKubernetesService order
      if (svc.namespace().equals(proxyNamespace)) {
        names.add(svc.name());
        names.add(svc.name() + "." + svc.namespace() + ".svc");
        names.add(svc.name() + "." + svc.namespace());
      } else {
        names.add(svc.name() + "." + svc.namespace());
        names.add(svc.name() + "." + svc.namespace() + ".svc");
      }
    }
    List<String> out = new ArrayList<>();
    for (String n : names) {
      out.add(n);
      out.add(n + ":" + port);
    }
    return out;
  }

  /**
   * The route for a service without a VirtualService: its cluster, Istio's default retries, no
   * timeout.
   */
  Route defaultRoute(MeshService svc, int port, String vhName) {
    List<RouteAction.HashPolicy> hash = hashPolicy(svc.hostname(), null, port);
    RouteAction.Builder ra =
        RouteAction.newBuilder()
            .setCluster(ClusterNames.outbound(port, null, svc.hostname()))
            .setTimeout(Protos.ZERO)
            .setRetryPolicy(retryPolicy(null, !hash.isEmpty()))
            .setMaxStreamDuration(maxStreamDuration(Protos.ZERO));
    ra.addAllHashPolicy(hash);
    return Route.newBuilder()
        .setName("default")
        .setMatch(RouteMatch.newBuilder().setPrefix("/"))
        .setRoute(ra)
        .setDecorator(Decorator.newBuilder().setOperation(vhName + "/*"))
        .build();
  }

  static VirtualHost allowAny() {
    return VirtualHost.newBuilder()
        .setName("allow_any")
        .addDomains("*")
        .addRoutes(
            Route.newBuilder()
                .setName("allow_any")
                .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                .setRoute(
                    RouteAction.newBuilder()
                        .setCluster(ClusterNames.PASSTHROUGH)
                        .setTimeout(Protos.ZERO)
                        .setMaxStreamDuration(maxStreamDuration(Protos.ZERO))))
        .setIncludeRequestAttemptCount(true)
        .build();
  }

  // ---------------------------------------------------------------- gateway

  /** Gateway servers selected by the router's labels, grouped by listener (target) port. */
  public Map<Integer, List<GatewayServer>> gatewayServers(ProxyNode proxy) {
    Map<Integer, List<GatewayServer>> out = new TreeMap<>();
    for (Located<Gateway> gw : ctx.gateways()) {
      var spec = gw.object().getSpec();
      if (spec == null || spec.getServers() == null) continue;
      if (!PushContext.selects(spec.getSelector(), proxy.labels())) continue;
      for (Server s : spec.getServers()) {
        if (s.getPort() == null || s.getPort().getNumber() == null) continue;
        int number = s.getPort().getNumber().intValue();
        int target = targetPort(proxy, number);
        out.computeIfAbsent(target, k -> new ArrayList<>())
            .add(
                new GatewayServer(
                    gw.namespace() + "/" + gw.name(),
                    gw,
                    s,
                    number,
                    target,
                    Protocol.parse(s.getPort().getProtocol())));
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
      Protocol protocol) {}

  /** The Service port that exposes the gateway pod maps server port 80 to listener 8080. */
  int targetPort(ProxyNode proxy, int number) {
    for (MeshService svc : ctx.servicesSelecting(proxy.namespace(), proxy.labels())) {
      MeshService.Port p = svc.port(number);
      if (p != null && p.targetPort() > 0) return p.targetPort();
    }
    return number;
  }

  public List<RouteConfiguration> buildGateway(ProxyNode proxy) {
    List<RouteConfiguration> out = new ArrayList<>();
    gatewayServers(proxy)
        .forEach(
            (listenerPort, servers) -> {
              List<GatewayServer> http =
                  servers.stream().filter(s -> s.protocol().isHttpOrSniffed()).toList();
              if (!http.isEmpty())
                out.add(gatewayRouteConfig(gatewayRouteName(listenerPort), http));
              for (GatewayServer gs : servers) {
                if (terminatesTls(gs)) out.add(gatewayRouteConfig(httpsRouteName(gs), List.of(gs)));
              }
            });
    return out;
  }

  static boolean terminatesTls(GatewayServer gs) {
    var tls = gs.server().getTls();
    return gs.protocol() == Protocol.HTTPS
        && tls != null
        && tls.getMode() != null
        && (tls.getMode()
                == io.fabric8.istio.api.api.networking.v1alpha3.ServerTLSSettingsTLSmode.SIMPLE
            || tls.getMode()
                == io.fabric8.istio.api.api.networking.v1alpha3.ServerTLSSettingsTLSmode.MUTUAL);
  }

  /** Istio's name for a TLS-terminating server's routes: https.443.https.gateway.namespace. */
  public static String httpsRouteName(GatewayServer gs) {
    String[] nsName = gs.gateway().split("/", 2);
    String portName =
        gs.server().getPort().getName() == null ? "" : gs.server().getPort().getName();
    return "https." + gs.port() + "." + portName + "." + nsName[1] + "." + nsName[0];
  }

  RouteConfiguration gatewayRouteConfig(String routeName, List<GatewayServer> http) {
    Map<String, VirtualHost> vhosts = new LinkedHashMap<>();
    int serverPort = http.get(0).port();
    for (GatewayServer gs : http) {
      List<String> serverHosts =
          gs.server().getHosts() == null ? List.of("*") : gs.server().getHosts();
      boolean redirect =
          gs.server().getTls() != null
              && Boolean.TRUE.equals(gs.server().getTls().getHttpsRedirect());
      for (Located<VirtualService> vs : ctx.gatewayVirtualServices(gs.gateway())) {
        List<String> hosts = vs.object().getSpec().getHosts();
        if (hosts == null) continue;
        for (String h : hosts) {
          if (!intersects(serverHosts, h)) continue;
          String name = h + ":" + gs.port();
          if (vhosts.containsKey(name)) continue;
          List<Route> routes = translateRoutes(vs, gs.port(), name, gs.gateway());
          if (routes.isEmpty()) continue;
          VirtualHost.Builder vh =
              VirtualHost.newBuilder()
                  .setName(name)
                  .addDomains(h)
                  .addAllRoutes(routes)
                  .setIncludeRequestAttemptCount(true);
          if (redirect) vh.setRequireTls(VirtualHost.TlsRequirementType.ALL);
          vhosts.put(name, vh.build());
        }
      }
    }
    List<VirtualHost> list = new ArrayList<>(vhosts.values());
    if (list.isEmpty()) {
      list.add(
          VirtualHost.newBuilder()
              .setName("blackhole:" + serverPort)
              .addDomains("*")
              .addRoutes(
                  Route.newBuilder()
                      .setName("default")
                      .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                      .setDirectResponse(DirectResponseAction.newBuilder().setStatus(404)))
              .setIncludeRequestAttemptCount(true)
              .build());
    }
    // gateways match the host whatever port the client used, as Istio configures them
    return RouteConfiguration.newBuilder()
        .setName(routeName)
        .addAllVirtualHosts(list)
        .setValidateClusters(Protos.bool(false))
        .setIgnorePortInHostMatching(true)
        .build();
  }

  public static String gatewayRouteName(int listenerPort) {
    return RouteNames.gateway(listenerPort);
  }

  static boolean intersects(List<String> serverHosts, String vsHost) {
    for (String sh : serverHosts) {
      String h = sh.contains("/") ? sh.substring(sh.indexOf('/') + 1) : sh;
      if (PushContext.hostsIntersect(h, vsHost)) return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- VirtualService http routes

  /**
   * Translates a VirtualService's http section for one virtual host port. One Envoy route per match
   * entry (entries are ORed, conditions inside one are ANDed); a catch-all ends the list.
   *
   * @param gateway namespace/name for gateway routes, null for sidecars ("mesh")
   */
  List<Route> translateRoutes(Located<VirtualService> vs, int port, String vhName, String gateway) {
    List<Route> out = new ArrayList<>();
    List<HTTPRoute> http = vs.object().getSpec().getHttp();
    if (http == null) return out;
    for (HTTPRoute r : http) {
      List<HTTPMatchRequest> matches =
          r.getMatch() == null || r.getMatch().isEmpty()
              ? java.util.Collections.singletonList(null)
              : r.getMatch();
      boolean catchAll = false;
      for (HTTPMatchRequest m : matches) {
        if (m != null && m.getPort() != null && m.getPort() != 0 && m.getPort() != port) continue;
        if (m != null && m.getGateways() != null && !m.getGateways().isEmpty()) {
          boolean ok = false;
          for (String g : m.getGateways()) {
            String full = g.equals("mesh") || g.contains("/") ? g : vs.namespace() + "/" + g;
            if (gateway == null ? full.equals("mesh") : full.equals(gateway)) ok = true;
          }
          if (!ok) continue;
        }
        out.add(translateRoute(vs, r, m, port, vhName));
        if (isCatchAll(m)) {
          catchAll = true;
          break;
        }
      }
      if (catchAll) break;
    }
    return out;
  }

  static boolean isCatchAll(HTTPMatchRequest m) {
    if (m == null) return true;
    boolean uriAll =
        m.getUri() == null
            || (m.getUri().getMatchType() instanceof StringMatchPrefix p
                && "/".equals(p.getPrefix()))
            || (m.getUri().getMatchType() instanceof StringMatchRegex rx
                && ("*".equals(rx.getRegex())
                    || "^.*$".equals(rx.getRegex())
                    || ".*".equals(rx.getRegex())));
    return uriAll
        && empty(m.getHeaders())
        && empty(m.getWithoutHeaders())
        && empty(m.getQueryParams())
        && m.getMethod() == null
        && m.getAuthority() == null
        && m.getScheme() == null
        && empty(m.getSourceLabels())
        && m.getSourceNamespace() == null;
  }

  private static boolean empty(Map<?, ?> m) {
    return m == null || m.isEmpty();
  }

  Route translateRoute(
      Located<VirtualService> vs, HTTPRoute r, HTTPMatchRequest m, int port, String vhName) {
    Route.Builder rb = Route.newBuilder().setMatch(translateMatch(m));
    String name = r.getName();
    if (m != null && m.getName() != null && !m.getName().isEmpty()) {
      name = name == null || name.isEmpty() ? m.getName() : name + "." + m.getName();
    }
    if (name != null && !name.isEmpty()) rb.setName(name);

    if (r.getRedirect() != null) {
      rb.setRedirect(redirect(r.getRedirect()));
    } else if (r.getDirectResponse() != null) {
      DirectResponseAction.Builder dr =
          DirectResponseAction.newBuilder()
              .setStatus(
                  r.getDirectResponse().getStatus() == null
                      ? 200
                      : r.getDirectResponse().getStatus().intValue());
      var body = r.getDirectResponse().getBody();
      if (body != null
          && body.getSpecifier()
              instanceof io.fabric8.istio.api.api.networking.v1alpha3.HTTPBodyString s) {
        dr.setBody(
            io.envoyproxy.envoy.config.core.v3.DataSource.newBuilder()
                .setInlineString(s.getString()));
      }
      rb.setDirectResponse(dr);
    } else {
      rb.setRoute(routeAction(vs, r, port, rb));
    }
    Headers h = r.getHeaders();
    if (h != null) {
      addRequestHeaders(rb, h.getRequest());
      addResponseHeaders(rb, h.getResponse());
    }
    if (r.getFault() != null) {
      rb.putTypedPerFilterConfig(FAULT_FILTER, Protos.any(fault(r.getFault())));
    }
    if (r.getCorsPolicy() != null) {
      rb.putTypedPerFilterConfig(CORS_FILTER, Protos.any(cors(r.getCorsPolicy())));
    }
    rb.setMetadata(
        io.envoyproxy.envoy.config.core.v3.Metadata.newBuilder()
            .putFilterMetadata(
                IstioMetadata.ISTIO,
                com.google.protobuf.Struct.newBuilder()
                    .putFields(
                        IstioMetadata.CONFIG,
                        Protos.str(
                            IstioMetadata.configPath("virtual-service", vs.namespace(), vs.name())))
                    .build()));
    rb.setDecorator(Decorator.newBuilder().setOperation(operation(rb, vs.name(), port)));
    return rb.build();
  }

  /**
   * Istio's getRouteOperation: {@code host:port/path*} for a single destination cluster, else the
   * VirtualService's name in place of the host.
   */
  static String operation(Route.Builder rb, String vsName, int port) {
    RouteMatch m = rb.getMatch();
    String path =
        switch (m.getPathSpecifierCase()) {
          case PREFIX -> m.getPrefix() + "*";
          case PATH -> m.getPath();
          case SAFE_REGEX -> m.getSafeRegex().getRegex();
          default -> "/*";
        };
    ClusterNames.Parsed c = rb.hasRoute() ? ClusterNames.parse(rb.getRoute().getCluster()) : null;
    return c != null ? c.host() + ":" + c.port() + path : vsName + ":" + port + path;
  }

  RouteAction routeAction(Located<VirtualService> vs, HTTPRoute r, int port, Route.Builder rb) {
    RouteAction.Builder ra = RouteAction.newBuilder();
    List<HTTPRouteDestination> dests = r.getRoute() == null ? List.of() : r.getRoute();
    if (dests.size() == 1) {
      HTTPRouteDestination d = dests.get(0);
      ra.setCluster(clusterFor(vs, d.getDestination(), port));
      if (d.getHeaders() != null) {
        addRequestHeaders(rb, d.getHeaders().getRequest());
        addResponseHeaders(rb, d.getHeaders().getResponse());
      }
    } else if (dests.size() > 1) {
      WeightedCluster.Builder wc = WeightedCluster.newBuilder();
      int total = 0;
      for (HTTPRouteDestination d : dests) {
        int w = d.getWeight() == null ? 0 : d.getWeight();
        // Istio drops zero-weight destinations when there are others
        if (w == 0) continue;
        total += w;
        WeightedCluster.ClusterWeight.Builder cw =
            WeightedCluster.ClusterWeight.newBuilder()
                .setName(clusterFor(vs, d.getDestination(), port))
                .setWeight(Protos.u32(w));
        if (d.getHeaders() != null) {
          HeadersHeaderOperations req = d.getHeaders().getRequest();
          HeadersHeaderOperations resp = d.getHeaders().getResponse();
          if (req != null) {
            cw.addAllRequestHeadersToAdd(headerOptions(req));
            if (req.getRemove() != null) cw.addAllRequestHeadersToRemove(req.getRemove());
          }
          if (resp != null) {
            cw.addAllResponseHeadersToAdd(headerOptions(resp));
            if (resp.getRemove() != null) cw.addAllResponseHeadersToRemove(resp.getRemove());
          }
        }
        wc.addClusters(cw);
      }
      wc.setTotalWeight(Protos.u32(total));
      ra.setWeightedClusters(wc);
    }
    boolean fault = r.getFault() != null;
    com.google.protobuf.Duration timeout =
        r.getTimeout() == null || fault ? Protos.ZERO : Protos.duration(r.getTimeout());
    ra.setTimeout(timeout);
    List<RouteAction.HashPolicy> hash = List.of();
    if (!dests.isEmpty() && dests.get(0).getDestination() != null) {
      Destination d = dests.get(0).getDestination();
      String host = PushContext.resolveHost(d.getHost(), vs.namespace());
      hash = hashPolicy(host, d.getSubset(), destinationPort(host, d, port));
    }
    if (!fault) {
      RetryPolicy rp = retryPolicy(r.getRetries(), !hash.isEmpty());
      if (rp != null) ra.setRetryPolicy(rp);
    }
    ra.setMaxStreamDuration(maxStreamDuration(timeout));
    if (r.getRewrite() != null) {
      if (r.getRewrite().getUri() != null) ra.setPrefixRewrite(r.getRewrite().getUri());
      if (r.getRewrite().getAuthority() != null)
        ra.setHostRewriteLiteral(r.getRewrite().getAuthority());
      if (r.getRewrite().getUriRegexRewrite() != null) {
        ra.setRegexRewrite(
            RegexMatchAndSubstitute.newBuilder()
                .setPattern(
                    RegexMatcher.newBuilder()
                        .setRegex(r.getRewrite().getUriRegexRewrite().getMatch()))
                .setSubstitution(r.getRewrite().getUriRegexRewrite().getRewrite()));
      }
    }
    if (r.getMirror() != null) {
      ra.addRequestMirrorPolicies(
          mirror(
              vs,
              r.getMirror(),
              mirrorPercent(r.getMirrorPercentage(), r.getMirrorPercent()),
              port));
    }
    if (r.getMirrors() != null) {
      for (HTTPMirrorPolicy mp : r.getMirrors()) {
        ra.addRequestMirrorPolicies(
            mirror(vs, mp.getDestination(), mirrorPercent(mp.getPercentage(), null), port));
      }
    }
    ra.addAllHashPolicy(hash);
    return ra.build();
  }

  /**
   * {@code outbound|port|subset|host} for a destination; port defaults to the service's only port.
   */
  String clusterFor(Located<VirtualService> vs, Destination d, int vhPort) {
    if (d == null) return ClusterNames.BLACK_HOLE;
    String host = PushContext.resolveHost(d.getHost(), vs.namespace());
    return ClusterNames.outbound(
        destinationPort(host, d, vhPort), emptyToNull(d.getSubset()), host);
  }

  int destinationPort(String host, Destination d, int vhPort) {
    if (d.getPort() != null && d.getPort().getNumber() != null && d.getPort().getNumber() > 0) {
      return d.getPort().getNumber().intValue();
    }
    MeshService svc = ctx.service(host);
    if (svc != null && svc.ports().size() == 1) return svc.ports().get(0).port();
    return vhPort;
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }

  RouteAction.RequestMirrorPolicy mirror(
      Located<VirtualService> vs, Destination d, RuntimeFractionalPercent pct, int port) {
    RouteAction.RequestMirrorPolicy.Builder b =
        RouteAction.RequestMirrorPolicy.newBuilder()
            .setCluster(clusterFor(vs, d, port))
            .setTraceSampled(Protos.bool(false));
    if (pct != null) b.setRuntimeFraction(pct);
    return b.build();
  }

  /** Istio's mirrorPercent: mirrorPercentage (0 disables), deprecated mirrorPercent, else 100%. */
  static RuntimeFractionalPercent mirrorPercent(Percent pct, Integer legacy) {
    if (pct != null && pct.getValue() != null) {
      return RuntimeFractionalPercent.newBuilder()
          .setDefaultValue(Protos.percent(pct.getValue()))
          .build();
    }
    if (legacy != null) {
      return RuntimeFractionalPercent.newBuilder()
          .setDefaultValue(Protos.integerPercent(legacy))
          .build();
    }
    return RuntimeFractionalPercent.newBuilder()
        .setDefaultValue(Protos.integerPercent(100))
        .build();
  }

  static RouteAction.MaxStreamDuration maxStreamDuration(com.google.protobuf.Duration d) {
    return RouteAction.MaxStreamDuration.newBuilder()
        .setMaxStreamDuration(d)
        .setGrpcTimeoutHeaderMax(d)
        .build();
  }

  // ---------------------------------------------------------------- match

  static RouteMatch translateMatch(HTTPMatchRequest m) {
    RouteMatch.Builder b = RouteMatch.newBuilder();
    if (m == null || m.getUri() == null || m.getUri().getMatchType() == null) {
      b.setPrefix("/");
    } else if (m.getUri().getMatchType() instanceof StringMatchExact e) {
      b.setPath(e.getExact());
    } else if (m.getUri().getMatchType() instanceof StringMatchPrefix p) {
      b.setPrefix(p.getPrefix());
    } else if (m.getUri().getMatchType() instanceof StringMatchRegex r) {
      b.setSafeRegex(RegexMatcher.newBuilder().setRegex(r.getRegex()));
    }
    if (m == null) return b.build();
    b.setCaseSensitive(Protos.bool(!Boolean.TRUE.equals(m.getIgnoreUriCase())));
    if (m.getHeaders() != null) {
      m.getHeaders().forEach((name, sm) -> b.addHeaders(headerMatcher(name, sm, false)));
    }
    if (m.getWithoutHeaders() != null) {
      m.getWithoutHeaders().forEach((name, sm) -> b.addHeaders(headerMatcher(name, sm, true)));
    }
    if (m.getMethod() != null) b.addHeaders(headerMatcher(":method", m.getMethod(), false));
    if (m.getAuthority() != null)
      b.addHeaders(headerMatcher(":authority", m.getAuthority(), false));
    if (m.getScheme() != null) b.addHeaders(headerMatcher(":scheme", m.getScheme(), false));
    if (m.getQueryParams() != null) {
      m.getQueryParams()
          .forEach(
              (name, sm) -> {
                QueryParameterMatcher.Builder q = QueryParameterMatcher.newBuilder().setName(name);
                StringMatcher s = stringMatcher(sm);
                if (s == null) q.setPresentMatch(true);
                else q.setStringMatch(s);
                b.addQueryParameters(q);
              });
    }
    return b.build();
  }

  /** An empty StringMatch ({@code {}}) means "header present", as Istio translates it. */
  static HeaderMatcher headerMatcher(String name, StringMatch sm, boolean invert) {
    HeaderMatcher.Builder h = HeaderMatcher.newBuilder().setName(name);
    StringMatcher s = stringMatcher(sm);
    if (s == null) h.setPresentMatch(true);
    else h.setStringMatch(s);
    if (invert) h.setInvertMatch(true);
    return h.build();
  }

  static StringMatcher stringMatcher(StringMatch sm) {
    if (sm == null || sm.getMatchType() == null) return null;
    if (sm.getMatchType() instanceof StringMatchExact e)
      return StringMatcher.newBuilder().setExact(e.getExact()).build();
    if (sm.getMatchType() instanceof StringMatchPrefix p)
      return StringMatcher.newBuilder().setPrefix(p.getPrefix()).build();
    if (sm.getMatchType() instanceof StringMatchRegex r) {
      return StringMatcher.newBuilder()
          .setSafeRegex(RegexMatcher.newBuilder().setRegex(r.getRegex()))
          .build();
    }
    return null;
  }

  // ---------------------------------------------------------------- policies

  /** Istio's default retry policy (since 1.24 without 503 in retriable_status_codes). */
  public static RetryPolicy defaultRetryPolicy() {
    return RetryPolicy.newBuilder()
        .setRetryOn(DEFAULT_RETRY_ON)
        .setNumRetries(Protos.u32(2))
        .addRetryHostPredicate(
            RetryPolicy.RetryHostPredicate.newBuilder()
                .setName(Wellknown.PREVIOUS_HOSTS)
                .setTypedConfig(Protos.any(PreviousHostsPredicate.getDefaultInstance())))
        .setHostSelectionRetryMaxAttempts(5)
        .build();
  }

  /**
   * Istio's retry.ConvertPolicy: attempts 0 disables retries; numeric retryOn entries become status
   * codes; with consistent hashing (a hash policy) retries do not skip previous hosts.
   */
  static RetryPolicy retryPolicy(HTTPRetry in, boolean hashPolicy) {
    RetryPolicy.Builder dflt = defaultRetryPolicy().toBuilder();
    if (hashPolicy) dflt.clearRetryHostPredicate();
    if (in == null) return dflt.build();
    if (in.getAttempts() == null || in.getAttempts() <= 0) return null;
    RetryPolicy.Builder b = dflt.setNumRetries(Protos.u32(in.getAttempts()));
    if (in.getRetryOn() != null && !in.getRetryOn().isBlank()) {
      List<String> on = new ArrayList<>();
      List<Integer> codes = new ArrayList<>();
      for (String part : in.getRetryOn().split(",")) {
        String p = part.trim();
        if (p.isEmpty()) continue;
        if (p.chars().allMatch(Character::isDigit) && p.length() == 3)
          codes.add(Integer.parseInt(p));
        else on.add(p);
      }
      if (!codes.isEmpty() && !on.contains("retriable-status-codes"))
        on.add("retriable-status-codes");
      b.setRetryOn(String.join(",", on));
      b.clearRetriableStatusCodes().addAllRetriableStatusCodes(codes);
    }
    if (in.getPerTryTimeout() != null) b.setPerTryTimeout(Protos.duration(in.getPerTryTimeout()));
    if (in.getRetryIgnorePreviousHosts() != null) {
      b.clearRetryHostPredicate();
      if (in.getRetryIgnorePreviousHosts())
        b.addAllRetryHostPredicate(defaultRetryPolicy().getRetryHostPredicateList());
    }
    if (in.getBackoff() != null) {
      b.setRetryBackOff(
          RetryPolicy.RetryBackOff.newBuilder().setBaseInterval(Protos.duration(in.getBackoff())));
    }
    return b.build();
  }

  static HTTPFault fault(HTTPFaultInjection f) {
    HTTPFault.Builder b = HTTPFault.newBuilder();
    if (f.getDelay() != null) {
      FaultDelay.Builder d = FaultDelay.newBuilder();
      if (f.getDelay().getHttpDelayType() instanceof HTTPFaultInjectionDelayFixedDelay fd) {
        d.setFixedDelay(Protos.duration(fd.getFixedDelay()));
      }
      d.setPercentage(faultPercent(f.getDelay().getPercentage(), f.getDelay().getPercent()));
      b.setDelay(d);
    }
    if (f.getAbort() != null) {
      FaultAbort.Builder a = FaultAbort.newBuilder();
      if (f.getAbort().getErrorType() instanceof HTTPFaultInjectionAbortHttpStatus hs) {
        a.setHttpStatus(hs.getHttpStatus());
      } else if (f.getAbort().getErrorType() instanceof HTTPFaultInjectionAbortGrpcStatus gs) {
        a.setGrpcStatus(grpcCode(gs.getGrpcStatus()));
      }
      a.setPercentage(faultPercent(f.getAbort().getPercentage(), null));
      b.setAbort(a);
    }
    return b.build();
  }

  private static int grpcCode(String s) {
    try {
      return io.grpc.Status.Code.valueOf(s).value();
    } catch (RuntimeException e) {
      return 2;
    }
  }

  private static io.envoyproxy.envoy.type.v3.FractionalPercent faultPercent(
      Percent p, Integer legacy) {
    if (p != null && p.getValue() != null) return Protos.percent(p.getValue());
    if (legacy != null) return Protos.integerPercent(legacy);
    return Protos.integerPercent(100);
  }

  static CorsPolicy cors(io.fabric8.istio.api.api.networking.v1alpha3.CorsPolicy c) {
    CorsPolicy.Builder b = CorsPolicy.newBuilder();
    if (c.getAllowOrigins() != null) {
      for (StringMatch sm : c.getAllowOrigins()) {
        StringMatcher s = stringMatcher(sm);
        if (s != null) b.addAllowOriginStringMatch(s);
      }
    }
    if (c.getAllowOrigin() != null) {
      for (String o : c.getAllowOrigin())
        b.addAllowOriginStringMatch(StringMatcher.newBuilder().setExact(o));
    }
    if (c.getAllowMethods() != null) b.setAllowMethods(String.join(",", c.getAllowMethods()));
    if (c.getAllowHeaders() != null) b.setAllowHeaders(String.join(",", c.getAllowHeaders()));
    if (c.getExposeHeaders() != null) b.setExposeHeaders(String.join(",", c.getExposeHeaders()));
    if (c.getMaxAge() != null)
      b.setMaxAge(String.valueOf(Protos.duration(c.getMaxAge()).getSeconds()));
    if (c.getAllowCredentials() != null)
      b.setAllowCredentials(Protos.bool(c.getAllowCredentials()));
    b.setFilterEnabled(
        RuntimeFractionalPercent.newBuilder().setDefaultValue(Protos.integerPercent(100)));
    return b.build();
  }

  static RedirectAction redirect(io.fabric8.istio.api.api.networking.v1alpha3.HTTPRedirect r) {
    RedirectAction.Builder b = RedirectAction.newBuilder();
    if (r.getUri() != null) b.setPathRedirect(r.getUri());
    if (r.getAuthority() != null) b.setHostRedirect(r.getAuthority());
    if (r.getScheme() != null) b.setSchemeRedirect(r.getScheme());
    if (r.getRedirectPort() instanceof HTTPRedirectPort p && p.getPort() != null)
      b.setPortRedirect(p.getPort().intValue());
    long code = r.getRedirectCode() == null || r.getRedirectCode() == 0 ? 301 : r.getRedirectCode();
    b.setResponseCode(
        switch ((int) code) {
          case 302 -> RedirectAction.RedirectResponseCode.FOUND;
          case 303 -> RedirectAction.RedirectResponseCode.SEE_OTHER;
          case 307 -> RedirectAction.RedirectResponseCode.TEMPORARY_REDIRECT;
          case 308 -> RedirectAction.RedirectResponseCode.PERMANENT_REDIRECT;
          default -> RedirectAction.RedirectResponseCode.MOVED_PERMANENTLY;
        });
    return b.build();
  }

  static void addRequestHeaders(Route.Builder rb, HeadersHeaderOperations ops) {
    if (ops == null) return;
    rb.addAllRequestHeadersToAdd(headerOptions(ops));
    if (ops.getRemove() != null) rb.addAllRequestHeadersToRemove(ops.getRemove());
  }

  static void addResponseHeaders(Route.Builder rb, HeadersHeaderOperations ops) {
    if (ops == null) return;
    rb.addAllResponseHeadersToAdd(headerOptions(ops));
    if (ops.getRemove() != null) rb.addAllResponseHeadersToRemove(ops.getRemove());
  }

  /** set: OVERWRITE_IF_EXISTS_OR_ADD; add: APPEND_IF_EXISTS_OR_ADD (Istio's translation). */
  static List<HeaderValueOption> headerOptions(HeadersHeaderOperations ops) {
    List<HeaderValueOption> out = new ArrayList<>();
    if (ops.getSet() != null) {
      ops.getSet()
          .forEach(
              (k, v) ->
                  out.add(
                      HeaderValueOption.newBuilder()
                          .setHeader(HeaderValue.newBuilder().setKey(k).setValue(v))
                          .setAppendAction(
                              HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD)
                          .build()));
    }
    if (ops.getAdd() != null) {
      ops.getAdd()
          .forEach(
              (k, v) ->
                  out.add(
                      HeaderValueOption.newBuilder()
                          .setHeader(HeaderValue.newBuilder().setKey(k).setValue(v))
                          .setAppendAction(
                              HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD)
                          .build()));
    }
    return out;
  }

  /** Route hash policy from the destination's consistentHash load balancer. */
  List<RouteAction.HashPolicy> hashPolicy(String host, String subset, int port) {
    TrafficPolicies tp =
        TrafficPolicies.forCluster(ctx.destinationRule(host), emptyToNull(subset), port);
    if (tp.loadBalancer() == null
        || !(tp.loadBalancer().getLbPolicy() instanceof LoadBalancerSettingsConsistentHash ch)
        || ch.getConsistentHash() == null) {
      return List.of();
    }
    LoadBalancerSettingsConsistentHashLB h = ch.getConsistentHash();
    RouteAction.HashPolicy.Builder hp = RouteAction.HashPolicy.newBuilder();
    if (h.getHashKey() instanceof LoadBalancerSettingsConsistentHashLBHttpHeaderName n) {
      hp.setHeader(RouteAction.HashPolicy.Header.newBuilder().setHeaderName(n.getHttpHeaderName()));
    } else if (h.getHashKey() instanceof LoadBalancerSettingsConsistentHashLBHttpCookie c
        && c.getHttpCookie() != null) {
      RouteAction.HashPolicy.Cookie.Builder cb =
          RouteAction.HashPolicy.Cookie.newBuilder().setName(c.getHttpCookie().getName());
      if (c.getHttpCookie().getPath() != null) cb.setPath(c.getHttpCookie().getPath());
      if (c.getHttpCookie().getTtl() != null)
        cb.setTtl(Protos.duration(c.getHttpCookie().getTtl()));
      hp.setCookie(cb);
    } else if (h.getHashKey() instanceof LoadBalancerSettingsConsistentHashLBUseSourceIp s
        && Boolean.TRUE.equals(s.getUseSourceIp())) {
      hp.setConnectionProperties(
          RouteAction.HashPolicy.ConnectionProperties.newBuilder().setSourceIp(true));
    } else if (h.getHashKey()
        instanceof LoadBalancerSettingsConsistentHashLBHttpQueryParameterName q) {
      hp.setQueryParameter(
          RouteAction.HashPolicy.QueryParameter.newBuilder()
              .setName(q.getHttpQueryParameterName()));
    } else {
      return List.of();
    }
    return List.of(hp.build());
  }
}
