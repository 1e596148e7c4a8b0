package io.shopmesh.mesh.xds;

import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.fabric8.istio.api.networking.v1.DestinationRule;
import io.fabric8.istio.api.networking.v1.Gateway;
import io.fabric8.istio.api.networking.v1.ServiceEntry;
import io.fabric8.istio.api.networking.v1.VirtualService;
import io.fabric8.kubernetes.api.model.Service;
import io.shopmesh.mesh.config.Hosts;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.MeshConfig;
import io.shopmesh.mesh.config.MeshSettings;
import io.shopmesh.mesh.config.model.MeshService;
import io.shopmesh.mesh.config.model.ServiceConversion;
import io.shopmesh.mesh.wire.ClusterNames;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Indexes of one config snapshot that every proxy's translation shares (Istio's PushContext):
 * services by hostname (converted by {@link ServiceConversion}), VirtualServices for sidecars (by
 * host) and gateways (by gateway), DestinationRules by host, and the endpoints of each EDS cluster
 * (Istio's per-push xDS cache).
 */
public final class PushContext {

  public static final String DOMAIN = MeshConfig.DOMAIN_SUFFIX;
  public static final String INGRESS_SERVICE = ServiceConversion.INGRESS_SERVICE;
  public static final String INGRESS_NAMESPACE = ServiceConversion.INGRESS_NAMESPACE;

  /**
   * Istio's configCompareByCreationTime: creation time (none sorts first), then name, then
   * namespace.
   */
  public static final Comparator<Located<VirtualService>> BY_CREATION_TIME =
      Comparator.<Located<VirtualService>, Instant>comparing(PushContext::creationTime)
          .thenComparing(Located::name)
          .thenComparing(Located::namespace);

  private final MeshConfig config;
  private final MeshSettings settings;
  private final Map<String, MeshService> services = new LinkedHashMap<>();
  private final Map<String, Located<DestinationRule>> destinationRules = new LinkedHashMap<>();
  private final List<MeshService> sortedServices;
  private final List<Located<VirtualService>> sidecarVirtualServices = new ArrayList<>();

  /** The VirtualServices with hosts, delegates merged into their roots ({@link Delegation}). */
  private final List<Located<VirtualService>> virtualServices;

  /** The VirtualService as configured, for each merged root ({@link #configured}). */
  private final Map<Located<VirtualService>, Located<VirtualService>> configuredVs =
      new IdentityHashMap<>();

  /** Sidecar VirtualService per resolved host: the first one in config order that names it. */
  private final Map<String, Located<VirtualService>> sidecarVsByHost = new LinkedHashMap<>();

  /** Wildcard hosts of sidecar VirtualServices, in config order (VirtualService, then host). */
  private final List<Map.Entry<String, Located<VirtualService>>> sidecarVsWildcards =
      new ArrayList<>();

  private final Map<String, List<Located<VirtualService>>> gatewayVirtualServices =
      new LinkedHashMap<>();

  /** Routes of each VirtualService per (port, gateway): translated once per push context. */
  private final Map<Located<VirtualService>, Map<String, List<Route>>> routesByVs =
      Collections.synchronizedMap(new IdentityHashMap<>());

  private final HttpRouteTranslator routeTranslator = new HttpRouteTranslator(this);

  /** Endpoints per cluster for one registry snapshot; replaced when the registry changes. */
  private volatile EndpointCache endpointCache;

  public PushContext(MeshConfig config) {
    this(config, MeshSettings.DEFAULT);
  }

  public PushContext(MeshConfig config, MeshSettings settings) {
    this.config = config;
    this.settings = settings;
    for (Located<Service> s : config.services()) {
      MeshService ms = ServiceConversion.fromKubernetes(s);
      if (ms != null) {
        services.put(ms.hostname(), ms);
      }
    }
    String ingress = Hosts.fqdn(INGRESS_SERVICE, INGRESS_NAMESPACE);
    services.putIfAbsent(ingress, ServiceConversion.builtInIngressService());
    for (Located<ServiceEntry> se : config.serviceEntries()) {
      for (MeshService ms : ServiceConversion.fromServiceEntry(se)) {
        // a Kubernetes Service keeps its host; ServiceEntries sharing one merge as Istio's do
        services.merge(ms.hostname(), ms, ServiceConversion::mergeSameHost);
      }
    }
    for (Located<DestinationRule> dr : config.destinationRules()) {
      if (dr.object().getSpec() == null || dr.object().getSpec().getHost() == null) {
        continue;
      }
      destinationRules.putIfAbsent(Hosts.fqdn(dr.object().getSpec().getHost(), dr.namespace()), dr);
    }
    List<MeshService> sorted = new ArrayList<>(services.values());
    sorted.sort(Comparator.comparing(MeshService::hostname));
    sortedServices = List.copyOf(sorted);
    virtualServices = Delegation.merge(config.virtualServices());
    int next = 0;
    for (Located<VirtualService> vs : config.virtualServices()) {
      if (!Delegation.isDelegate(vs)) {
        configuredVs.put(virtualServices.get(next++), vs);
      }
    }
    for (Located<VirtualService> vs : virtualServices) {
      List<String> gws = vs.object().getSpec() == null ? null : vs.object().getSpec().getGateways();
      if (gws == null || gws.isEmpty() || gws.contains("mesh")) {
        sidecarVirtualServices.add(vs);
        List<String> hosts =
            vs.object().getSpec() == null ? null : vs.object().getSpec().getHosts();
        if (hosts != null) {
          for (String h : hosts) {
            String fq = Hosts.fqdn(h, vs.namespace());
            sidecarVsByHost.putIfAbsent(fq, vs);
            if (fq.startsWith("*")) {
              sidecarVsWildcards.add(Map.entry(fq, vs));
            }
          }
        }
      }
      if (gws != null) {
        for (String g : gws) {
          String full = g.contains("/") ? g : vs.namespace() + "/" + g;
          List<Located<VirtualService>> bound =
              gatewayVirtualServices.computeIfAbsent(full, k -> new ArrayList<>());
          if (bound.isEmpty() || bound.get(bound.size() - 1) != vs) {
            bound.add(vs);
          }
        }
      }
    }
  }

  static Instant creationTime(Located<?> config) {
    var meta = config.object().getMetadata();
    String t = meta == null ? null : meta.getCreationTimestamp();
    if (t == null || t.isEmpty()) {
      return Instant.MIN;
    }
    try {
      return OffsetDateTime.parse(t).toInstant();
    } catch (DateTimeParseException e) {
      return Instant.MIN;
    }
  }

  public MeshConfig config() {
    return config;
  }

  /**
   * The VirtualServices that apply to traffic: those with hosts, in config order, each root with
   * its delegates' rules merged in (Istio's merged VirtualServices); delegates are not listed.
   */
  public List<Located<VirtualService>> virtualServices() {
    return virtualServices;
  }

  /** The configured VirtualService behind one of {@link #virtualServices()}. */
  public Located<VirtualService> configured(Located<VirtualService> vs) {
    return configuredVs.getOrDefault(vs, vs);
  }

  /** The mesh-wide settings (Istio's MeshConfig) this push translates with. */
  public MeshSettings settings() {
    return settings;
  }

  /**
   * Where traffic to no known service goes: PassthroughCluster with ALLOW_ANY, BlackHoleCluster
   * with REGISTRY_ONLY (Istio's buildOutboundCatchAllNetworkFiltersOnly).
   */
  public String catchAllCluster() {
    return settings.allowAny() ? ClusterNames.PASSTHROUGH : ClusterNames.BLACK_HOLE;
  }

  /** All services, Kubernetes ones first, each list sorted by hostname for stable output. */
  public List<MeshService> services() {
    return sortedServices;
  }

  public MeshService service(String hostname) {
    return services.get(hostname);
  }

  /** The DestinationRule for a service host (exact host first, then the longest wildcard). */
  public Located<DestinationRule> destinationRule(String hostname) {
    Located<DestinationRule> dr = destinationRules.get(hostname);
    if (dr != null) {
      return dr;
    }
    Located<DestinationRule> best = null;
    int bestLen = -1;
    for (Map.Entry<String, Located<DestinationRule>> e : destinationRules.entrySet()) {
      String h = e.getKey();
      if (Hosts.subsetOf(hostname, h) && h.length() > bestLen) {
        best = e.getValue();
        bestLen = h.length();
      }
    }
    return best;
  }

  /** VirtualServices that apply to sidecars: no gateways, or the reserved "mesh" gateway. */
  public List<Located<VirtualService>> sidecarVirtualServices() {
    return new ArrayList<>(sidecarVirtualServices);
  }

  /**
   * The first sidecar VirtualService (config order) whose hosts name this service host exactly,
   * else the first whose wildcard host matches it.
   */
  public Located<VirtualService> sidecarVirtualService(String hostname) {
    Located<VirtualService> vs = sidecarVsByHost.get(hostname);
    if (vs != null) {
      return vs;
    }
    for (Map.Entry<String, Located<VirtualService>> e : sidecarVsWildcards) {
      if (Hosts.subsetOf(hostname, e.getKey())) {
        return e.getValue();
      }
    }
    return null;
  }

  /** The VirtualService translator whose results this push context keeps. */
  HttpRouteTranslator routeTranslator() {
    return routeTranslator;
  }

  /**
   * The routes of a VirtualService for one virtual-host port, gateway (null for sidecars) and
   * source-condition key (which of its sourceLabels matches select the proxy), translated on first
   * use and shared by every proxy of this push (Istio translates each VirtualService once per push,
   * too). A translation that fails is not kept.
   */
  List<Route> cachedRoutes(
      Located<VirtualService> vs,
      int port,
      String gateway,
      String sourceKey,
      Supplier<List<Route>> translate) {
    Map<String, List<Route>> byKey = routesByVs.computeIfAbsent(vs, k -> new ConcurrentHashMap<>());
    return byKey.computeIfAbsent(
        port + "|" + gateway + "|" + sourceKey, k -> List.copyOf(translate.get()));
  }

  /** VirtualServices bound to a gateway, given as namespace/name. */
  public List<Located<VirtualService>> gatewayVirtualServices(String gatewayNsName) {
    return new ArrayList<>(gatewayVirtualServices.getOrDefault(gatewayNsName, List.of()));
  }

  /**
   * The endpoints of one EDS cluster, built once per (this config, registry snapshot) and shared by
   * every proxy: they depend on neither the proxy's namespace, locality nor interception mode.
   */
  ClusterLoadAssignment endpoints(
      ServiceRegistry registry, String clusterName, Function<String, ClusterLoadAssignment> build) {
    return endpointCache(registry).byCluster.computeIfAbsent(clusterName, build);
  }

  private EndpointCache endpointCache(ServiceRegistry registry) {
    EndpointCache c = endpointCache;
    if (c == null || c.registry != registry) {
      c = new EndpointCache(registry);
      endpointCache = c;
    }
    return c;
  }

  /** The registry's pods a Kubernetes service selects, in registry order (cached likewise). */
  List<WorkloadInstance> selectedWorkloads(ServiceRegistry registry, MeshService svc) {
    EndpointCache c = endpointCache(registry);
    return c.byService.computeIfAbsent(
        svc.hostname(),
        h -> {
          List<WorkloadInstance> out = new ArrayList<>();
          for (WorkloadInstance w : c.byNamespace.getOrDefault(svc.namespace(), List.of())) {
            if (selects(svc.selector(), w.labels())) {
              out.add(w);
            }
          }
          return List.copyOf(out);
        });
  }

  private static final class EndpointCache {
    final ServiceRegistry registry;
    final Map<String, List<WorkloadInstance>> byNamespace = new LinkedHashMap<>();
    final Map<String, ClusterLoadAssignment> byCluster = new ConcurrentHashMap<>();
    final Map<String, List<WorkloadInstance>> byService = new ConcurrentHashMap<>();

    EndpointCache(ServiceRegistry registry) {
      this.registry = registry;
      for (WorkloadInstance w : registry.workloads()) {
        byNamespace.computeIfAbsent(w.namespace(), k -> new ArrayList<>()).add(w);
      }
    }
  }

  public List<Located<Gateway>> gateways() {
    return config.gateways();
  }

  /** Services whose selector picks a pod with these labels in this namespace. */
  public List<MeshService> servicesSelecting(String namespace, Map<String, String> labels) {
    List<MeshService> out = new ArrayList<>();
    for (MeshService s : services()) {
      if (s.kubernetes() && s.namespace().equals(namespace) && selects(s.selector(), labels)) {
        out.add(s);
      }
    }
    return out;
  }

  static boolean selects(Map<String, String> selector, Map<String, String> labels) {
    if (selector == null || selector.isEmpty()) {
      return false;
    }
    for (Map.Entry<String, String> e : selector.entrySet()) {
      if (!e.getValue().equals(labels.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  static boolean labelsMatch(Map<String, String> subsetLabels, Map<String, String> labels) {
    if (subsetLabels == null) {
      return true;
    }
    for (Map.Entry<String, String> e : subsetLabels.entrySet()) {
      if (!e.getValue().equals(labels.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  static <T> List<T> nn(Collection<T> c) {
    return c == null ? List.of() : List.copyOf(c);
  }
}
