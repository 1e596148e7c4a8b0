package io.shopmesh.mesh.proxy.upstream;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The live clusters, rebuilt from CDS and fed endpoints by EDS (or inline load assignments). */
public final class ClusterManager {
  private final Map<String, UpstreamCluster> clusters = new ConcurrentHashMap<>();
  private final Path certsRoot;
  private final Resolver resolver;

  public ClusterManager(Path certsRoot, Resolver resolver) {
    this.certsRoot = certsRoot;
    this.resolver = resolver;
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
          old != null && old.proto.equals(c) ? old : new UpstreamCluster(c, certsRoot));
    }
    return out;
  }

  /**
   * Applies a compiled CDS state of the world; EDS clusters keep their endpoints until EDS says.
   */
  public void apply(Map<String, UpstreamCluster> next, Map<String, ClusterLoadAssignment> eds) {
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
  }

  private static final java.util.concurrent.ScheduledExecutorService JANITOR =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "cluster-janitor");
            t.setDaemon(true);
            return t;
          });

  /** Requests in flight on a replaced cluster finish first (Envoy drains too). */
  private static void closeLater(UpstreamCluster c) {
    JANITOR.schedule(c::close, 60, java.util.concurrent.TimeUnit.SECONDS);
  }

  /** Re-resolves the DNS clusters (Envoy's dns_refresh_rate, 5 s by default). */
  public void refreshDns() {
    for (UpstreamCluster u : clusters.values()) {
      if ((u.type == Cluster.DiscoveryType.STRICT_DNS
              || u.type == Cluster.DiscoveryType.LOGICAL_DNS)
          && u.proto.hasLoadAssignment()) {
        setEndpoints(u, u.proto.getLoadAssignment(), u);
      }
    }
  }

  /** Starts the periodic DNS refresh. */
  public void startDnsRefresh() {
    dnsRefresh =
        JANITOR.scheduleWithFixedDelay(
            () -> {
              try {
                refreshDns();
              } catch (RuntimeException e) {
                // keep the previous endpoints
              }
            },
            5,
            5,
            java.util.concurrent.TimeUnit.SECONDS);
  }

  private java.util.concurrent.ScheduledFuture<?> dnsRefresh;

  public void close() {
    if (dnsRefresh != null) {
      dnsRefresh.cancel(false);
    }
    clusters.values().forEach(UpstreamCluster::close);
  }

  /** Applies EDS assignments to the EDS clusters that use them. */
  public void applyEndpoints(Map<String, ClusterLoadAssignment> eds) {
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
    boolean dns =
        u.type == Cluster.DiscoveryType.STRICT_DNS || u.type == Cluster.DiscoveryType.LOGICAL_DNS;
    List<Host> hosts = new ArrayList<>();
    for (LocalityLbEndpoints l : cla.getEndpointsList()) {
      for (LbEndpoint e : l.getLbEndpointsList()) {
        SocketAddress sa = e.getEndpoint().getAddress().getSocketAddress();
        String addr = sa.getAddress();
        String hostname = null;
        if (dns) {
          hostname = addr;
          String ip = resolver.resolve(addr);
          if (ip == null) {
            continue;
          }
          addr = ip;
        }
        boolean sidecar =
            "istio".equals(metaString(e, "envoy.transport_socket_match", "tlsMode"))
                || "istio".equals(metaString(e, "istio", "tlsMode"));
        String workload = metaString(e, "istio", "workload");
        String key = addr + ":" + sa.getPortValue();
        Host h = keep.get(key);
        if (h == null
            || h.sidecar != sidecar
            || !h.workloadMeta.equals(workload == null ? "" : workload)) {
          h = new Host(addr, sa.getPortValue(), sidecar, workload, hostname);
        }
        h.edsHealthy =
            e.getHealthStatus() == HealthStatus.HEALTHY
                || e.getHealthStatus() == HealthStatus.UNKNOWN;
        h.weight = e.hasLoadBalancingWeight() ? e.getLoadBalancingWeight().getValue() : 1;
        hosts.add(h);
        if (u.type == Cluster.DiscoveryType.LOGICAL_DNS) {
          break;
        }
      }
    }
    u.setHosts(hosts);
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
