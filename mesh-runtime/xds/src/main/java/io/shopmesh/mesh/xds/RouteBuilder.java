package io.shopmesh.mesh.xds;

import io.envoyproxy.envoy.config.route.v3.Decorator;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.fabric8.istio.api.networking.v1.VirtualService;
import io.shopmesh.mesh.config.Hosts;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.model.MeshService;
import io.shopmesh.mesh.wire.ClusterNames;
import io.shopmesh.mesh.wire.RouteNames;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A sidecar's outbound HTTP route configs, as Istio's httproute.go: one per service port, named by
 * port ({@code "8080"}), one virtual host per service and port, each with the routes of the
 * service's VirtualService ({@link HttpRouteTranslator}) or the default route, then {@code
 * allow_any}. Gateway route configs are built by {@link GatewayBuilder}.
 */
public final class RouteBuilder {

  static final String BLOCK_ALL = "block_all";

  private final PushContext ctx;
  private final HttpRouteTranslator translator;

  public RouteBuilder(PushContext ctx) {
    this.ctx = ctx;
    this.translator = ctx.routeTranslator();
  }

  /** The route config names a sidecar's outbound HTTP listeners refer to, in port order. */
  public List<Integer> sidecarHttpPorts() {
    Set<Integer> ports = new TreeSet<>();
    for (MeshService s : ctx.services()) {
      for (MeshService.Port p : s.ports()) {
        if (p.protocol().isHttpOrSniffed()) {
          ports.add(p.port());
        }
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
        if (!port.protocol().isHttpOrSniffed()) {
          continue;
        }
        Set<String> used = usedDomains.computeIfAbsent(port.port(), k -> new HashSet<>());
        List<String> domains = new ArrayList<>();
        for (String d : domains(svc, proxy.namespace())) {
          if (used.add(d)) {
            domains.add(d);
          }
        }
        if (domains.isEmpty()) {
          continue;
        }
        String vhName = svc.hostname() + ":" + port.port();
        List<Route> routes =
            vs == null ? List.of() : translator.translateRoutes(vs, port.port(), null, proxy);
        if (routes.isEmpty()) {
          routes = List.of(defaultRoute(svc, port.port(), vhName));
        }
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
    nonServiceHosts(proxy, byPort, usedDomains);
    List<RouteConfiguration> out = new ArrayList<>();
    byPort.forEach(
        (port, vhosts) -> {
          List<VirtualHost> all = new ArrayList<>(vhosts);
          all.sort(Comparator.comparing(VirtualHost::getName));
          all.add(ctx.settings().allowAny() ? allowAny() : blockAll());
          out.add(
              RouteConfiguration.newBuilder()
                  .setName(RouteNames.sidecar(port))
                  .addAllVirtualHosts(all)
                  .setValidateClusters(Protos.bool(false))
                  // Istio since 1.16: domains carry no port, Envoy strips it from the Host
                  .setIgnorePortInHostMatching(true)
                  .build());
        });
    out.addAll(sniffedServicePorts(byPort));
    return out;
  }

  /**
   * VirtualService hosts that name no service (Istio's non-service-registry hosts, e.g. {@code
   * *.example.org} or an external name): a virtual host {@code host:port} of their own, domains the
   * host alone, with the VirtualService's routes, on each HTTP port of the services the
   * VirtualService routes, or on port 80 when it routes none (route.go separateVSHostsAndServices,
   * buildSidecarVirtualHostsForVirtualService). A wildcard host that matches any service is not one
   * of them.
   */
  private void nonServiceHosts(
      ProxyNode proxy, Map<Integer, List<VirtualHost>> byPort, Map<Integer, Set<String>> used) {
    for (Located<VirtualService> vs : ctx.sidecarVirtualServices()) {
      String ns = vs.object().getMetadata().getNamespace();
      List<String> hosts = vs.object().getSpec().getHosts();
      if (hosts == null || hosts.isEmpty()) {
        continue;
      }
      List<String> nonService = new ArrayList<>();
      Set<Integer> ports = new TreeSet<>();
      for (String h : hosts) {
        String host = Hosts.fqdn(h.toLowerCase(Locale.ROOT), ns == null ? "default" : ns);
        boolean matched = false;
        for (MeshService svc : ctx.services()) {
          boolean match =
              host.startsWith("*")
                  ? Hosts.subsetOf(svc.hostname(), host)
                  : svc.hostname().equals(host);
          if (!match) {
            continue;
          }
          matched = true;
          if (sidecarVirtualService(svc.hostname()) == vs) {
            for (MeshService.Port p : svc.ports()) {
              if (p.protocol().isHttpOrSniffed()) {
                ports.add(p.port());
              }
            }
          }
        }
        if (!matched) {
          nonService.add(host);
        }
      }
      if (nonService.isEmpty()) {
        continue;
      }
      if (ports.isEmpty()) {
        ports.add(80);
      }
      for (int port : ports) {
        List<Route> routes = translator.translateRoutes(vs, port, null, proxy);
        if (routes.isEmpty()) {
          continue;
        }
        Set<String> taken = used.computeIfAbsent(port, k -> new HashSet<>());
        for (String host : nonService) {
          if (!taken.add(host)) {
            continue;
          }
          byPort
              .computeIfAbsent(port, k -> new ArrayList<>())
              .add(
                  VirtualHost.newBuilder()
                      .setName(host + ":" + port)
                      .addDomains(host)
                      .addAllRoutes(routes)
                      .setIncludeRequestAttemptCount(true)
                      .build());
        }
      }
    }
  }

  /**
   * Istio's route configs for an auto (sniffed) port listening on a service address, named {@code
   * host:port} (httproute.go getVirtualHostsForSniffedServicePort): only that service's virtual
   * host of the port's route config, its domains {@code *}, and no {@code allow_any}.
   */
  private List<RouteConfiguration> sniffedServicePorts(Map<Integer, List<VirtualHost>> byPort) {
    List<RouteConfiguration> out = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (MeshService svc : ctx.services()) {
      boolean onAddress = svc.addresses().stream().anyMatch(a -> !a.contains("/"));
      if (!onAddress) {
        continue;
      }
      for (MeshService.Port port : svc.ports()) {
        String name = svc.hostname() + ":" + port.port();
        if (!port.protocol().isUnsupported() || !seen.add(name)) {
          continue;
        }
        List<VirtualHost> vhosts = new ArrayList<>();
        for (VirtualHost vh : byPort.getOrDefault(port.port(), List.of())) {
          if (vh.getDomainsList().contains(name) || vh.getDomainsList().contains(svc.hostname())) {
            vhosts.add(vh);
          }
        }
        if (vhosts.size() == 1) {
          vhosts.set(0, vhosts.get(0).toBuilder().clearDomains().addDomains("*").build());
        }
        out.add(
            RouteConfiguration.newBuilder()
                .setName(name)
                .addAllVirtualHosts(vhosts)
                .setValidateClusters(Protos.bool(false))
                .setIgnorePortInHostMatching(true)
                .build());
      }
    }
    return out;
  }

  /**
   * The first sidecar VirtualService whose hosts cover this service host (exact before wildcard).
   */
  Located<VirtualService> sidecarVirtualService(String hostname) {
    return ctx.sidecarVirtualService(hostname);
  }

  /**
   * Istio's virtual host domains for a sidecar (httproute.go generateVirtualHostDomains, with
   * {@code ignore_port_in_host_matching} so without {@code :port} variants): the FQDN, its absolute
   * form with a trailing dot (PILOT_ENABLE_ABSOLUTE_FQDN_VHOST_DOMAIN, on by default), then for a
   * Kubernetes service seen from its own namespace {@code name}, {@code name.ns.svc}, {@code
   * name.ns}, from another namespace {@code name.ns}, {@code name.ns.svc}.
   */
  static List<String> domains(MeshService svc, String proxyNamespace) {
    List<String> out = new ArrayList<>();
    out.add(svc.hostname());
    out.add(svc.hostname() + ".");
    if (svc.kubernetes()) {
      // Istio's generateAltVirtualHostsForKubernetesService order
      if (svc.namespace().equals(proxyNamespace)) {
        out.add(svc.name());
        out.add(svc.name() + "." + svc.namespace() + ".svc");
        out.add(svc.name() + "." + svc.namespace());
      } else {
        out.add(svc.name() + "." + svc.namespace());
        out.add(svc.name() + "." + svc.namespace() + ".svc");
      }
    }
    return out;
  }

  /**
   * The route for a service without a VirtualService: its cluster, Istio's default retries, no
   * timeout.
   */
  Route defaultRoute(MeshService svc, int port, String vhName) {
    List<RouteAction.HashPolicy> hash = translator.hashPolicy(svc.hostname(), null, port);
    RouteAction.Builder ra =
        RouteAction.newBuilder()
            .setCluster(ClusterNames.outbound(port, null, svc.hostname()))
            .setTimeout(Protos.ZERO)
            .setRetryPolicy(RetryPolicies.retryPolicy(null, !hash.isEmpty()));
    HttpRouteTranslator.setMaxGrpcTimeout(ra, Protos.ZERO);
    ra.addAllHashPolicy(hash);
    return Route.newBuilder()
        .setName("default")
        .setMatch(RouteMatch.newBuilder().setPrefix("/"))
        .setRoute(ra)
        .setDecorator(Decorator.newBuilder().setOperation(vhName + "/*"))
        .build();
  }

  /**
   * Istio's catch-all virtual host with REGISTRY_ONLY: {@code block_all}, answering 502 to a host
   * no service declares.
   */
  static VirtualHost blockAll() {
    return VirtualHost.newBuilder()
        .setName(BLOCK_ALL)
        .addDomains("*")
        .addRoutes(
            Route.newBuilder()
                .setName(BLOCK_ALL)
                .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                .setDirectResponse(DirectResponseAction.newBuilder().setStatus(502)))
        .setIncludeRequestAttemptCount(true)
        .build();
  }

  static VirtualHost allowAny() {
    RouteAction.Builder passthrough =
        RouteAction.newBuilder().setCluster(ClusterNames.PASSTHROUGH).setTimeout(Protos.ZERO);
    HttpRouteTranslator.setMaxGrpcTimeout(passthrough, Protos.ZERO);
    return VirtualHost.newBuilder()
        .setName("allow_any")
        .addDomains("*")
        .addRoutes(
            Route.newBuilder()
                .setName("allow_any")
                .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                .setRoute(passthrough))
        .setIncludeRequestAttemptCount(true)
        .build();
  }
}
