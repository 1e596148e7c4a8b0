package io.shopmesh.mesh.proxy.upstream;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.shopmesh.mesh.proxy.router.RouteTable;
import io.shopmesh.mesh.proxy.sds.WorkloadSecrets;
import io.shopmesh.mesh.wire.IstioMetadata;
import io.shopmesh.mesh.wire.Wellknown;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** The live clusters, rebuilt from CDS and fed endpoints by EDS (or inline load assignments). */
public final class ClusterManager {
  private final Map<String, UpstreamCluster> clusters = new ConcurrentHashMap<>();
  private final Path certsRoot;
  private final Resolver resolver;
  private volatile WorkloadSecrets secrets;

  /** DNS name -> the STRICT_DNS / LOGICAL_DNS clusters whose endpoints name it. */
  private Map<String, Set<String>> dnsUsers = Map.of();

  public ClusterManager(Path certsRoot, Resolver resolver) {
    this.certsRoot = certsRoot;
    this.resolver = resolver;
    resolver.onChange(this::dnsChanged);
  }

  /** The workload's secrets, which ISTIO_MUTUAL clusters present and verify with. */
  public void workloadSecrets(WorkloadSecrets secrets) {
    this.secrets = secrets;
  }

  public UpstreamCluster get(String name) {
    return clusters.get(name);
  }

  public Map<String, UpstreamCluster> all() {
    return clusters;
  }

  public Resolver resolver() {
    return resolver;
  }

  /** Compiles clusters without applying them; throws IllegalArgumentException if one is invalid. */
  public Map<String, UpstreamCluster> compile(Map<String, Cluster> resources) {
    Map<String, UpstreamCluster> out = new HashMap<>();
    for (Cluster c : resources.values()) {
      UpstreamCluster old = clusters.get(c.getName());
      out.put(
          c.getName(),
          old != null && old.proto.equals(c)
              ? old
              : new UpstreamCluster(c, certsRoot, () -> secrets));
    }
    return out;
  }

  /**
   * Applies a compiled CDS state of the world; EDS clusters keep their endpoints until EDS says.
   */
  public synchronized void apply(
      Map<String, UpstreamCluster> next, Map<String, ClusterLoadAssignment> eds) {
    for (UpstreamCluster u : next.values()) {
      UpstreamCluster old = clusters.get(u.name);
      if (old == u) {
        continue;
      }
      if (u.type == Cluster.DiscoveryType.EDS) {
        String svc = u.proto.getEdsClusterConfig().getServiceName();
        ClusterLoadAssignment cla = eds.get(svc.isEmpty() ? u.name : svc);
        if (cla != null) {
          setEndpoints(u, cla, old);
        } else if (old != null) {
          u.setHosts(old.hosts());
        }
      } else if (u.proto.hasLoadAssignment()) {
        setEndpoints(u, u.proto.getLoadAssignment(), old);
      }
      clusters.put(u.name, u);
      if (old != null) {
        closeLater(old);
      }
    }
    for (String name : new ArrayList<>(clusters.keySet())) {
      if (!next.containsKey(name)) {
        UpstreamCluster gone = clusters.remove(name);
        if (gone != null) {
          closeLater(gone);
        }
      }
    }
    trackDnsNames();
  }

  private static boolean isDns(UpstreamCluster u) {
    return u.type == Cluster.DiscoveryType.STRICT_DNS
        || u.type == Cluster.DiscoveryType.LOGICAL_DNS;
  }

  /** Tells the resolver which names the DNS clusters need, at their dns_refresh_rate. */
  private void trackDnsNames() {
    Map<String, Set<String>> users = new HashMap<>();
    Map<String, Long> refresh = new HashMap<>();
    for (UpstreamCluster u : clusters.values()) {
      if (!isDns(u) || !u.proto.hasLoadAssignment()) {
        continue;
      }
      long rate =
          u.proto.hasDnsRefreshRate()
              ? Math.max(1, RouteTable.millis(u.proto.getDnsRefreshRate()))
              : Resolver.DEFAULT_REFRESH_MS;
      for (LocalityLbEndpoints l : u.proto.getLoadAssignment().getEndpointsList()) {
        for (LbEndpoint e : l.getLbEndpointsList()) {
          String name = e.getEndpoint().getAddress().getSocketAddress().getAddress();
          users.computeIfAbsent(name.toLowerCase(Locale.ROOT), k -> new HashSet<>()).add(u.name);
          refresh.merge(name, rate, Math::min);
        }
      }
    }
    dnsUsers = users;
    resolver.track(refresh);
  }

  /** The resolver's answer for a name changed (null: the hosts file changed): rebuild hosts. */
  private synchronized void dnsChanged(String name) {
    if (name == null) {
      for (UpstreamCluster u : clusters.values()) {
        if (isDns(u) && u.proto.hasLoadAssignment()) {
          setEndpoints(u, u.proto.getLoadAssignment(), u);
        }
      }
      return;
    }
    for (String c : dnsUsers.getOrDefault(name, Set.of())) {
      UpstreamCluster u = clusters.get(c);
      if (u != null && isDns(u) && u.proto.hasLoadAssignment()) {
        setEndpoints(u, u.proto.getLoadAssignment(), u);
      }
    }
  }

  private static final ScheduledExecutorService JANITOR =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "cluster-janitor");
            t.setDaemon(true);
            return t;
          });

  /**
   * Requests in flight on a replaced cluster finish first (Envoy drains too). A cluster that never
   * carried a request is let go at once, so a huge CDS update does not keep the old one for 60 s.
   */
  private static void closeLater(UpstreamCluster c) {
    if (c.rqTotal() == 0 && c.activeRequests() == 0) {
      c.close();
      return;
    }
    JANITOR.schedule(c::close, 60, TimeUnit.SECONDS);
  }

  /** Starts the resolver's refresh loop (Envoy's dns_refresh_rate per cluster). */
  public void startDnsRefresh() {
    resolver.start();
  }

  public void close() {
    resolver.close();
    clusters.values().forEach(UpstreamCluster::close);
  }

  /** Applies EDS assignments to the EDS clusters that use them. */
  public synchronized void applyEndpoints(Map<String, ClusterLoadAssignment> eds) {
    for (UpstreamCluster u : clusters.values()) {
      if (u.type != Cluster.DiscoveryType.EDS) {
        continue;
      }
      String svc = u.proto.getEdsClusterConfig().getServiceName();
      ClusterLoadAssignment cla = eds.get(svc.isEmpty() ? u.name : svc);
      if (cla != null) {
        setEndpoints(u, cla, u);
      }
    }
  }

  private void setEndpoints(
      UpstreamCluster u, ClusterLoadAssignment cla, UpstreamCluster previous) {
    Map<String, Host> keep = new HashMap<>();
    if (previous != null) {
      for (Host h : previous.hosts()) {
        keep.put(h.key(), h);
      }
    }
    boolean dns = isDns(u);
    boolean logical = u.type == Cluster.DiscoveryType.LOGICAL_DNS;
    List<Host> hosts = new ArrayList<>();
    for (LocalityLbEndpoints l : cla.getEndpointsList()) {
      for (LbEndpoint e : l.getLbEndpointsList()) {
        SocketAddress sa = e.getEndpoint().getAddress().getSocketAddress();
        if (!dns) {
          addHost(hosts, keep, e, sa.getAddress(), sa.getPortValue(), null);
          continue;
        }
        // Only what the resolver already knows: an unresolved name has no host yet (503 UH).
        List<String> ips = resolver.addresses(sa.getAddress());
        if (ips == null || ips.isEmpty()) {
          continue;
        }
        for (String ip : logical ? ips.subList(0, 1) : ips) {
          addHost(hosts, keep, e, ip, sa.getPortValue(), sa.getAddress());
        }
        if (logical) {
          break;
        }
      }
      if (logical && !hosts.isEmpty()) {
        break;
      }
    }
    u.setHosts(hosts);
  }

  private static void addHost(
      List<Host> hosts, Map<String, Host> keep, LbEndpoint e, String addr, int port, String name) {
    boolean sidecar =
        IstioMetadata.TLS_MODE_ISTIO.equals(
                metaString(e, Wellknown.TRANSPORT_SOCKET_MATCH, IstioMetadata.TLS_MODE))
            || IstioMetadata.TLS_MODE_ISTIO.equals(
                metaString(e, IstioMetadata.ISTIO, IstioMetadata.TLS_MODE));
    String workload = metaString(e, IstioMetadata.ISTIO, IstioMetadata.WORKLOAD);
    Host h = keep.get(addr + ":" + port);
    if (h == null
        || h.sidecar != sidecar
        || !h.workloadMeta.equals(workload == null ? "" : workload)
        || !Objects.equals(h.hostname, name)) {
      h = new Host(addr, port, sidecar, workload, name);
    }
    h.edsHealthy =
        e.getHealthStatus() == HealthStatus.HEALTHY || e.getHealthStatus() == HealthStatus.UNKNOWN;
    h.weight = e.hasLoadBalancingWeight() ? e.getLoadBalancingWeight().getValue() : 1;
    hosts.add(h);
  }

  private static String metaString(LbEndpoint e, String filter, String key) {
    Struct s = e.getMetadata().getFilterMetadataMap().get(filter);
    if (s == null) {
      return null;
    }
    Value v = s.getFieldsMap().get(key);
    return v == null ? null : v.getStringValue();
  }
}
