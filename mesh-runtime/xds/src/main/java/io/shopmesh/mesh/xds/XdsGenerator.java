package io.shopmesh.mesh.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.shopmesh.mesh.config.MeshConfig;
import io.shopmesh.mesh.config.model.MeshService;
import io.shopmesh.mesh.wire.NodeId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The translation entry point: (validated config, registry, proxy) to the proxy's Envoy resources.
 * Pure: no I/O, same input gives the same output (resources in a stable order).
 */
public final class XdsGenerator {

  private XdsGenerator() {}

  public static XdsResources generate(
      MeshConfig config, ServiceRegistry registry, ProxyNode proxy) {
    return generate(new PushContext(config), registry, proxy);
  }

  public static XdsResources generate(PushContext ctx, ServiceRegistry registry, ProxyNode proxy) {
    ClusterBuilder clusters = new ClusterBuilder(ctx);
    RouteBuilder routes = new RouteBuilder(ctx);
    ListenerBuilder listeners = new ListenerBuilder(ctx);
    GatewayBuilder gateways = new GatewayBuilder(ctx);
    EndpointBuilder endpoints = new EndpointBuilder(ctx, registry);

    List<Cluster> cds = new ArrayList<>();
    List<Listener> lds;
    List<RouteConfiguration> rds;
    if (proxy.type() == NodeId.Type.ROUTER) {
      cds.addAll(clusters.buildOutbound(proxy));
      lds = gateways.buildListeners(proxy);
      rds = gateways.buildRoutes(proxy);
    } else {
      List<ClusterBuilder.InboundPort> inbound = inboundPorts(ctx, proxy);
      cds.addAll(clusters.buildOutbound(proxy));
      cds.addAll(clusters.buildInbound(proxy, inbound));
      lds = listeners.buildSidecar(proxy, inbound);
      rds = routes.buildSidecar(proxy);
    }
    List<ClusterLoadAssignment> eds = endpoints.build(cds);
    return new XdsResources(lds, rds, cds, eds);
  }

  /**
   * The ports a sidecar receives traffic on: the target ports of the Services that select its pod
   * (Istio builds inbound config from services, not bare container ports).
   */
  static List<ClusterBuilder.InboundPort> inboundPorts(PushContext ctx, ProxyNode proxy) {
    Map<Integer, ClusterBuilder.InboundPort> byPort = new TreeMap<>();
    for (MeshService svc : ctx.servicesSelecting(proxy.namespace(), proxy.labels())) {
      for (MeshService.Port p : svc.ports()) {
        int target = p.targetPort();
        if (p.targetPortName() != null) {
          target = proxy.toWorkload().portByName(p.targetPortName());
        }
        if (target <= 0) {
          continue;
        }
        ClusterBuilder.InboundPort existing = byPort.get(target);
        if (existing == null) {
          byPort.put(
              target, new ClusterBuilder.InboundPort(target, p.protocol(), p.name(), List.of(svc)));
        } else {
          List<MeshService> svcs = new ArrayList<>(existing.services());
          svcs.add(svc);
          byPort.put(
              target,
              new ClusterBuilder.InboundPort(
                  target, existing.protocol(), existing.portName(), svcs));
        }
      }
    }
    return new ArrayList<>(byPort.values());
  }
}
