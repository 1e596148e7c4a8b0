package io.shopmesh.mesh.proxy.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.shopmesh.mesh.proxy.router.RouteTable;
import io.shopmesh.mesh.proxy.upstream.ClusterManager;
import io.shopmesh.mesh.proxy.upstream.UpstreamCluster;
import io.shopmesh.mesh.wire.ClusterNames;
import io.shopmesh.mesh.wire.ListenerNames;
import io.shopmesh.mesh.wire.Wellknown;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The proxy's accepted configuration: raw Envoy resources (for /config_dump) and their compiled
 * forms. Each apply method either applies the whole update or throws IllegalArgumentException and
 * changes nothing (the caller NACKs).
 */
public final class XdsState {
  /** One accepted resource with its version, as Envoy's config dump shows it. */
  public record Versioned<T>(String version, T resource, Instant lastUpdated) {}

  private final ClusterManager clusters;
  private volatile Map<String, Versioned<Cluster>> clusterResources = Map.of();
  private volatile Map<String, Versioned<ClusterLoadAssignment>> endpointResources = Map.of();
  private volatile Map<String, Versioned<Listener>> listenerResources = Map.of();
  private volatile Map<String, Versioned<RouteConfiguration>> routeResources = Map.of();
  private volatile Map<String, RouteTable> routeTables = Map.of();

  /** Inline route configs of listener filter chains, keyed by listener name + chain index. */
  private volatile Map<RouteConfigRef.Inline, RouteTable> inlineRouteTables = Map.of();

  private final List<Consumer<Map<String, Listener>>> listenerWatchers = new ArrayList<>();

  /** virtualInbound: destination port -> the route config of its filter chain. */
  private volatile Map<Integer, RouteConfigRef> inboundByPort = Map.of();

  public XdsState(ClusterManager clusters) {
    this.clusters = clusters;
  }

  public ClusterManager clusterManager() {
    return clusters;
  }

  public void onListeners(Consumer<Map<String, Listener>> watcher) {
    listenerWatchers.add(watcher);
  }

  // ---- apply ----

  public synchronized void applyClusters(List<Cluster> list, String version) {
    Map<String, Cluster> byName = new LinkedHashMap<>();
    for (Cluster c : list) {
      if (byName.put(c.getName(), c) != null) {
        throw new IllegalArgumentException("duplicate cluster " + c.getName());
      }
    }
    Map<String, UpstreamCluster> compiled = clusters.compile(byName);
    Map<String, ClusterLoadAssignment> eds = new LinkedHashMap<>();
    endpointResources.forEach((k, v) -> eds.put(k, v.resource()));
    clusters.apply(compiled, eds);
    Map<String, Versioned<Cluster>> next = new LinkedHashMap<>();
    Instant now = Instant.now();
    for (Cluster c : byName.values()) {
      Versioned<Cluster> old = clusterResources.get(c.getName());
      next.put(
          c.getName(),
          old != null && old.resource().equals(c) ? old : new Versioned<>(version, c, now));
    }
    clusterResources = Collections.unmodifiableMap(next);
  }

  public synchronized void applyEndpoints(List<ClusterLoadAssignment> list, String version) {
    Map<String, Versioned<ClusterLoadAssignment>> next = new LinkedHashMap<>(endpointResources);
    Map<String, ClusterLoadAssignment> changed = new LinkedHashMap<>();
    Instant now = Instant.now();
    for (ClusterLoadAssignment c : list) {
      next.put(c.getClusterName(), new Versioned<>(version, c, now));
      changed.put(c.getClusterName(), c);
    }
    // Drop assignments nobody asks for any more.
    next.keySet().retainAll(edsNames());
    next.putAll(filterKeys(changed, now, version));
    clusters.applyEndpoints(changed);
    endpointResources = Collections.unmodifiableMap(next);
  }

  private static Map<String, Versioned<ClusterLoadAssignment>> filterKeys(
      Map<String, ClusterLoadAssignment> m, Instant now, String version) {
    Map<String, Versioned<ClusterLoadAssignment>> out = new LinkedHashMap<>();
    m.forEach((k, v) -> out.put(k, new Versioned<>(version, v, now)));
    return out;
  }

  /**
   * Where outbound traffic for a port with no listener of its own goes: the tcp_proxy cluster of
   * virtualOutbound's catch-all chain (PassthroughCluster with Istio's ALLOW_ANY, BlackHoleCluster
   * with REGISTRY_ONLY).
   */
  public String outboundCatchAllCluster() {
    return outboundCatchAll;
  }

  private volatile String outboundCatchAll = ClusterNames.PASSTHROUGH;

  private static String catchAllCluster(Listener vo) {
    if (vo == null) {
      return ClusterNames.PASSTHROUGH;
    }
    for (FilterChain fc : vo.getFilterChainsList()) {
      if (fc.getName().equals(ListenerNames.VIRTUAL_OUTBOUND_CATCHALL)) {
        String c = tcpProxyCluster(fc);
        if (c != null) {
          return c;
        }
      }
    }
    String c = vo.hasDefaultFilterChain() ? tcpProxyCluster(vo.getDefaultFilterChain()) : null;
    return c != null ? c : ClusterNames.PASSTHROUGH;
  }

  private static String tcpProxyCluster(FilterChain fc) {
    for (Filter f : fc.getFiltersList()) {
      if (f.hasTypedConfig() && f.getTypedConfig().is(TcpProxy.class)) {
        try {
          String c = f.getTypedConfig().unpack(TcpProxy.class).getCluster();
          return c.isEmpty() ? null : c;
        } catch (InvalidProtocolBufferException e) {
          return null;
        }
      }
    }
    return null;
  }

  public synchronized void applyListeners(List<Listener> list, String version) {
    Map<String, Listener> byName = new LinkedHashMap<>();
    Map<RouteConfigRef.Inline, RouteTable> inline = new LinkedHashMap<>();
    for (Listener l : list) {
      if (byName.put(l.getName(), l) != null) {
        throw new IllegalArgumentException("duplicate listener " + l.getName());
      }
      for (int i = 0; i < l.getFilterChainsCount(); i++) {
        HttpConnectionManager hcm = hcm(l.getFilterChains(i));
        if (hcm != null && hcm.hasRouteConfig()) {
          try {
            inline.put(
                new RouteConfigRef.Inline(l.getName(), i), new RouteTable(hcm.getRouteConfig()));
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("listener " + l.getName() + ": " + e.getMessage());
          }
        }
      }
      if (l.hasDefaultFilterChain()) {
        HttpConnectionManager hcm = hcm(l.getDefaultFilterChain());
        if (hcm != null && hcm.hasRouteConfig()) {
          inline.put(
              new RouteConfigRef.Inline(l.getName(), RouteConfigRef.Inline.DEFAULT_CHAIN),
              new RouteTable(hcm.getRouteConfig()));
        }
      }
    }
    Map<Integer, RouteConfigRef> inbound = new LinkedHashMap<>();
    Listener vi = byName.get(ListenerNames.VIRTUAL_INBOUND);
    if (vi != null) {
      for (int i = 0; i < vi.getFilterChainsCount(); i++) {
        FilterChain fc = vi.getFilterChains(i);
        if (!fc.getFilterChainMatch().hasDestinationPort()
            || "tls".equals(fc.getFilterChainMatch().getTransportProtocol())) {
          continue;
        }
        HttpConnectionManager hcm = hcm(fc);
        if (hcm == null) {
          continue;
        }
        int port = fc.getFilterChainMatch().getDestinationPort().getValue();
        RouteConfigRef target = RouteConfigRef.of(vi.getName(), i, hcm);
        if (target != null) {
          inbound.putIfAbsent(port, target);
        }
      }
    }
    inboundByPort = Collections.unmodifiableMap(inbound);
    outboundCatchAll = catchAllCluster(byName.get(ListenerNames.VIRTUAL_OUTBOUND));
    Map<String, Versioned<Listener>> next = new LinkedHashMap<>();
    Instant now = Instant.now();
    for (Listener l : byName.values()) {
      Versioned<Listener> old = listenerResources.get(l.getName());
      next.put(
          l.getName(),
          old != null && old.resource().equals(l) ? old : new Versioned<>(version, l, now));
    }
    listenerResources = Collections.unmodifiableMap(next);
    inlineRouteTables = Collections.unmodifiableMap(inline);
    for (Consumer<Map<String, Listener>> w : listenerWatchers) {
      w.accept(byName);
    }
  }

  public synchronized void applyRoutes(List<RouteConfiguration> list, String version) {
    Map<String, RouteTable> tables = new LinkedHashMap<>(routeTables);
    Map<String, Versioned<RouteConfiguration>> next = new LinkedHashMap<>(routeResources);
    Instant now = Instant.now();
    for (RouteConfiguration rc : list) {
      tables.put(rc.getName(), new RouteTable(rc));
      next.put(rc.getName(), new Versioned<>(version, rc, now));
    }
    Set<String> wanted = rdsNames();
    if (!wanted.isEmpty()) {
      tables.keySet().retainAll(wanted);
      next.keySet().retainAll(wanted);
    }
    routeTables = Collections.unmodifiableMap(tables);
    routeResources = Collections.unmodifiableMap(next);
  }

  // ---- queries ----

  /** Names EDS should be asked for: the EDS clusters' service names. */
  public Set<String> edsNames() {
    Set<String> out = new TreeSet<>();
    for (Versioned<Cluster> v : clusterResources.values()) {
      Cluster c = v.resource();
      if (c.getType() == Cluster.DiscoveryType.EDS) {
        String s = c.getEdsClusterConfig().getServiceName();
        out.add(s.isEmpty() ? c.getName() : s);
      }
    }
    return out;
  }

  /** Names RDS should be asked for: route_config_name of every HCM using RDS. */
  public Set<String> rdsNames() {
    Set<String> out = new TreeSet<>();
    for (Versioned<Listener> v : listenerResources.values()) {
      for (FilterChain fc : v.resource().getFilterChainsList()) {
        HttpConnectionManager h = hcm(fc);
        if (h != null && h.hasRds()) {
          out.add(h.getRds().getRouteConfigName());
        }
      }
      if (v.resource().hasDefaultFilterChain()) {
        HttpConnectionManager h = hcm(v.resource().getDefaultFilterChain());
        if (h != null && h.hasRds()) {
          out.add(h.getRds().getRouteConfigName());
        }
      }
    }
    return out;
  }

  public RouteTable routeTable(String name) {
    return routeTables.get(name);
  }

  /** The route table a reference names, or null when none is accepted (yet). */
  public RouteTable routeTable(RouteConfigRef ref) {
    if (ref instanceof RouteConfigRef.Rds r) {
      return routeTables.get(r.name());
    }
    return ref instanceof RouteConfigRef.Inline i ? inlineRouteTables.get(i) : null;
  }

  /** The route config of virtualInbound's filter chain for a destination port, or null. */
  public RouteConfigRef inboundRouteConfig(int port) {
    return inboundByPort.get(port);
  }

  /** The route table of virtualInbound's filter chain for a destination port, or null. */
  public RouteTable inboundRoute(int port) {
    return routeTable(inboundByPort.get(port));
  }

  public RouteTable inlineRouteTable(String listener, int chainIndex) {
    return inlineRouteTables.get(new RouteConfigRef.Inline(listener, chainIndex));
  }

  public Map<String, Versioned<Cluster>> clusters() {
    return clusterResources;
  }

  public Map<String, Versioned<ClusterLoadAssignment>> endpoints() {
    return endpointResources;
  }

  public Map<String, Versioned<Listener>> listeners() {
    return listenerResources;
  }

  public Map<String, Versioned<RouteConfiguration>> routes() {
    return routeResources;
  }

  /** The HttpConnectionManager of a filter chain, or null. */
  public static HttpConnectionManager hcm(FilterChain fc) {
    for (Filter f : fc.getFiltersList()) {
      if (f.hasTypedConfig()
          && (f.getName().equals(Wellknown.HTTP_CONNECTION_MANAGER)
              || f.getTypedConfig().getTypeUrl().endsWith("HttpConnectionManager"))) {
        return unpackHcm(f.getTypedConfig());
      }
    }
    return null;
  }

  private static HttpConnectionManager unpackHcm(Any any) {
    try {
      return any.unpack(HttpConnectionManager.class);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("cannot unpack HttpConnectionManager: " + e.getMessage());
    }
  }
}
