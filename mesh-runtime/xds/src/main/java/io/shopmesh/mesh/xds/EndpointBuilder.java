package io.shopmesh.mesh.xds;

import com.google.protobuf.Struct;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.fabric8.istio.api.api.networking.v1alpha3.Subset;
import io.fabric8.istio.api.networking.v1.DestinationRule;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.model.MeshService;
import io.shopmesh.mesh.wire.ClusterNames;
import io.shopmesh.mesh.wire.IstioMetadata;
import io.shopmesh.mesh.wire.Wellknown;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Builds EDS: one ClusterLoadAssignment per EDS cluster, from the registry's pods that the
 * Kubernetes Service selects (and the subset's labels), or a STATIC ServiceEntry's endpoints.
 * Endpoints carry Istio's metadata: {@code istio.workload} and, for pods with a sidecar, {@code
 * envoy.transport_socket_match.tlsMode: istio}.
 */
public final class EndpointBuilder {

  private final PushContext ctx;
  private final ServiceRegistry registry;

  public EndpointBuilder(PushContext ctx, ServiceRegistry registry) {
    this.ctx = ctx;
    this.registry = registry;
  }

  public List<ClusterLoadAssignment> build(List<Cluster> clusters) {
    List<ClusterLoadAssignment> out = new ArrayList<>();
    for (Cluster c : clusters) {
      if (c.getType() != Cluster.DiscoveryType.EDS) {
        continue;
      }
      out.add(
          build(
              c.getEdsClusterConfig().getServiceName().isEmpty()
                  ? c.getName()
                  : c.getEdsClusterConfig().getServiceName()));
    }
    return out;
  }

  /**
   * The assignment for one cluster name; empty (no endpoints) when nothing matches. Built once per
   * push context and registry snapshot, then shared by every proxy (as Istio's xDS cache does).
   */
  public ClusterLoadAssignment build(String clusterName) {
    return ctx.endpoints(registry, clusterName, this::compute);
  }

  private ClusterLoadAssignment compute(String clusterName) {
    ClusterLoadAssignment.Builder cla =
        ClusterLoadAssignment.newBuilder().setClusterName(clusterName);
    ClusterNames.Parsed p = ClusterNames.parse(clusterName);
    if (p == null || !p.direction().equals("outbound")) {
      return cla.build();
    }
    MeshService svc = ctx.service(p.host());
    if (svc == null) {
      return cla.build();
    }
    MeshService.Port port = svc.port(p.port());
    if (port == null) {
      return cla.build();
    }
    Map<String, String> subsetLabels = subsetLabels(svc, p.subset());
    LocalityLbEndpoints.Builder lle = LocalityLbEndpoints.newBuilder();
    if (svc.kubernetes()) {
      for (WorkloadInstance w : ctx.selectedWorkloads(registry, svc)) {
        if (!PushContext.labelsMatch(subsetLabels, w.labels())) {
          continue;
        }
        int target =
            port.targetPortName() != null ? w.portByName(port.targetPortName()) : port.targetPort();
        if (target <= 0) {
          continue;
        }
        lle.addLbEndpoints(lbEndpoint(w.ip(), target, workloadMetadata(w), w.sidecar()));
      }
    } else if (svc.resolution() == MeshService.Resolution.STATIC) {
      for (MeshService.Endpoint ep : svc.endpoints()) {
        if (!ep.serves(port.port()) || !PushContext.labelsMatch(subsetLabels, ep.labels())) {
          continue;
        }
        Long pp = port.name() == null ? null : ep.ports().get(port.name());
        int target = pp != null ? pp.intValue() : port.targetPort();
        lle.addLbEndpoints(lbEndpoint(ep.address(), target, ";" + svc.namespace() + ";;;", false));
      }
    }
    if (lle.getLbEndpointsCount() > 0) {
      lle.setLoadBalancingWeight(Protos.u32(lle.getLbEndpointsCount()));
      cla.addEndpoints(lle);
    }
    return cla.build();
  }

  private Map<String, String> subsetLabels(MeshService svc, String subset) {
    if (subset == null) {
      return null;
    }
    Located<DestinationRule> dr = ctx.destinationRule(svc.hostname());
    if (dr == null || dr.object().getSpec().getSubsets() == null) {
      return Map.of("__no_such_subset__", subset);
    }
    for (Subset s : dr.object().getSpec().getSubsets()) {
      if (subset.equals(s.getName())) {
        return s.getLabels() == null ? Map.of() : s.getLabels();
      }
    }
    return Map.of("__no_such_subset__", subset);
  }

  /** Istio's istio.workload value: {@code name;namespace;canonical-service;revision;cluster}. */
  static String workloadMetadata(WorkloadInstance w) {
    return w.workloadName()
        + ";"
        + w.namespace()
        + ";"
        + w.canonicalService()
        + ";"
        + w.canonicalRevision()
        + ";Kubernetes";
  }

  static LbEndpoint lbEndpoint(String ip, int port, String workload, boolean sidecar) {
    Metadata.Builder md = Metadata.newBuilder();
    if (sidecar) {
      md.putFilterMetadata(
          Wellknown.TRANSPORT_SOCKET_MATCH,
          Struct.newBuilder()
              .putFields(IstioMetadata.TLS_MODE, Protos.str(IstioMetadata.TLS_MODE_ISTIO))
              .build());
    }
    md.putFilterMetadata(
        IstioMetadata.ISTIO,
        Struct.newBuilder().putFields(IstioMetadata.WORKLOAD, Protos.str(workload)).build());
    return LbEndpoint.newBuilder()
        .setEndpoint(Endpoint.newBuilder().setAddress(Protos.address(ip, port)))
        .setHealthStatus(HealthStatus.HEALTHY)
        .setMetadata(md)
        .setLoadBalancingWeight(Protos.u32(1))
        .build();
  }
}
