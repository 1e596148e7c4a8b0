package io.shopmesh.mesh.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPMatchRequest;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRoute;
import io.fabric8.istio.api.api.networking.v1alpha3.Server;
import io.fabric8.istio.api.api.networking.v1alpha3.Subset;
import io.fabric8.istio.api.networking.v1.DestinationRule;
import io.fabric8.istio.api.networking.v1.Gateway;
import io.fabric8.istio.api.networking.v1.ServiceEntry;
import io.fabric8.istio.api.networking.v1.VirtualService;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.MeshConfig;
import io.shopmesh.mesh.config.Protocol;
import io.shopmesh.mesh.config.model.MeshService;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Translates each Istio resource on its own and reports the ones that cannot be turned into Envoy
 * config (a duration the validator let through, say), so that the control plane can keep serving
 * their last good version instead of pushing something broken.
 */
public final class Preflight {

  /** A resource that failed to translate. */
  public record Failure(Located<? extends HasMetadata> resource, String message) {}

  private Preflight() {}

  public static List<Failure> check(MeshConfig config) {
    return check(new PushContext(config));
  }

  /**
   * Checks the config of a push context. VirtualServices are translated through the context's
   * cache, at the ports the proxies will ask for, so a push from the same context translates each
   * of them only once.
   */
  public static List<Failure> check(PushContext ctx) {
    MeshConfig config = ctx.config();
    HttpRouteTranslator routes = ctx.routeTranslator();
    List<Failure> out = new ArrayList<>();
    // the VirtualServices as pushed: delegates merged into their roots (a failure names the root)
    for (Located<VirtualService> vs : ctx.virtualServices()) {
      try {
        for (String gateway : gateways(vs)) {
          for (int port : ports(ctx, vs, gateway)) {
            routes.translateRoutes(vs, port, gateway);
          }
        }
      } catch (RuntimeException e) {
        out.add(new Failure(ctx.configured(vs), message(e)));
      }
    }
    // a delegate on its own, so that what it cannot become names it rather than only its roots
    for (Located<VirtualService> vs : config.virtualServices()) {
      if (!Delegation.isDelegate(vs) || vs.object().getSpec() == null) {
        continue;
      }
      try {
        routes.translateRoutes(vs, 80, null);
      } catch (RuntimeException e) {
        out.add(new Failure(vs, message(e)));
      }
    }
    for (Located<DestinationRule> dr : config.destinationRules()) {
      try {
        List<String> subsets = new ArrayList<>();
        subsets.add(null);
        if (dr.object().getSpec().getSubsets() != null) {
          for (Subset s : dr.object().getSpec().getSubsets()) {
            subsets.add(s.getName());
          }
        }
        for (String subset : subsets) {
          for (int port : drPorts(dr)) {
            TrafficPolicies tp = TrafficPolicies.forCluster(dr, subset, port);
            Cluster.Builder c = Cluster.newBuilder();
            ClusterBuilder.applyLoadBalancer(c, tp.loadBalancer());
            ClusterBuilder.applyConnectionPool(c, tp.connectionPool(), Protocol.HTTP);
            ClusterBuilder.applyOutlierDetection(c, tp.outlierDetection());
            ClusterBuilder.applyTls(c, tp.tls(), Protocol.HTTP, "preflight");
          }
        }
      } catch (RuntimeException e) {
        out.add(new Failure(dr, message(e)));
      }
    }
    for (Located<Gateway> gw : config.gateways()) {
      try {
        if (gw.object().getSpec().getServers() != null) {
          for (Server s : gw.object().getSpec().getServers()) {
            if (s.getPort() == null || s.getPort().getNumber() == null) {
              throw new IllegalArgumentException("server without port");
            }
            if (s.getTls() != null) {
              GatewayBuilder.downstreamTls(s.getTls());
            }
          }
        }
      } catch (RuntimeException e) {
        out.add(new Failure(gw, message(e)));
      }
    }
    for (Located<ServiceEntry> se : config.serviceEntries()) {
      try {
        if (se.object().getSpec().getHosts() == null || se.object().getSpec().getPorts() == null) {
          throw new IllegalArgumentException("hosts and ports are required");
        }
      } catch (RuntimeException e) {
        out.add(new Failure(se, message(e)));
      }
    }
    return out;
  }

  /** Where the VirtualService applies: null for sidecars ("mesh"), else namespace/name. */
  private static List<String> gateways(Located<VirtualService> vs) {
    List<String> gws = vs.object().getSpec().getGateways();
    List<String> out = new ArrayList<>();
    if (gws == null || gws.isEmpty()) {
      out.add(null);
      return out;
    }
    for (String g : gws) {
      out.add(g.equals("mesh") ? null : g.contains("/") ? g : vs.namespace() + "/" + g);
    }
    return out;
  }

  /**
   * The ports a push translates this VirtualService at: the HTTP ports of the services it is the
   * sidecar VirtualService of, or the ports of the Gateway's servers; the ports its matches name
   * and 80 when there are none, so that every VirtualService is checked.
   */
  private static Set<Integer> ports(PushContext ctx, Located<VirtualService> vs, String gateway) {
    Set<Integer> ports = new TreeSet<>();
    if (gateway == null) {
      for (MeshService svc : ctx.services()) {
        if (ctx.sidecarVirtualService(svc.hostname()) == vs) {
          for (MeshService.Port p : svc.ports()) {
            if (p.protocol().isHttpOrSniffed()) {
              ports.add(p.port());
            }
          }
        }
      }
    } else {
      for (Located<Gateway> gw : ctx.gateways()) {
        if (!gateway.equals(gw.namespace() + "/" + gw.name())
            || gw.object().getSpec().getServers() == null) {
          continue;
        }
        for (Server s : gw.object().getSpec().getServers()) {
          if (s.getPort() != null && s.getPort().getNumber() != null) {
            ports.add(s.getPort().getNumber().intValue());
          }
        }
      }
    }
    List<HTTPRoute> http = vs.object().getSpec().getHttp();
    if (http != null) {
      for (HTTPRoute r : http) {
        if (r.getMatch() == null) {
          continue;
        }
        for (HTTPMatchRequest m : r.getMatch()) {
          if (m != null && m.getPort() != null) {
            ports.add(m.getPort().intValue());
          }
        }
      }
    }
    if (ports.isEmpty()) {
      ports.add(80);
    }
    return ports;
  }

  private static Set<Integer> drPorts(Located<DestinationRule> dr) {
    Set<Integer> ports = new TreeSet<>();
    ports.add(0);
    var tp = dr.object().getSpec().getTrafficPolicy();
    if (tp != null && tp.getPortLevelSettings() != null) {
      tp.getPortLevelSettings()
          .forEach(
              p -> {
                if (p.getPort() != null && p.getPort().getNumber() != null) {
                  ports.add(p.getPort().getNumber().intValue());
                }
              });
    }
    return ports;
  }

  private static String message(RuntimeException e) {
    return "cannot translate to Envoy config: "
        + (e.getMessage() == null ? e.toString() : e.getMessage());
  }
}
