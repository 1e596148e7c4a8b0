package io.shopmesh.mesh.xds;

import com.google.protobuf.Duration;
import com.google.protobuf.Struct;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.Decorator;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.fabric8.istio.api.api.networking.v1alpha3.Destination;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPBodyString;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPMatchRequest;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPMirrorPolicy;
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
import io.fabric8.istio.api.networking.v1.VirtualService;
import io.shopmesh.mesh.config.Hosts;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.model.MeshService;
import io.shopmesh.mesh.wire.ClusterNames;
import io.shopmesh.mesh.wire.IstioMetadata;
import io.shopmesh.mesh.wire.Wellknown;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * VirtualService http routes to Envoy routes, as Istio's route/route.go: one route per match entry
 * up to the first catch-all, with destinations as {@code outbound|port|subset|host} clusters,
 * timeouts, retries ({@link RetryPolicies}), faults, CORS, redirects, rewrites, mirrors, header
 * operations and the hash policy of the destination's consistentHash. Each VirtualService is
 * translated once per push context, whatever the number of proxies ({@link
 * PushContext#cachedRoutes}).
 */
public final class HttpRouteTranslator {

  private final PushContext ctx;

  HttpRouteTranslator(PushContext ctx) {
    this.ctx = ctx;
  }

  // ---------------------------------------------------------------- VirtualService http routes

  /**
   * Translates a VirtualService's http section for one virtual host port. One Envoy route per match
   * entry (entries are ORed, conditions inside one are ANDed); a catch-all ends the list.
   *
   * @param gateway namespace/name for gateway routes, null for sidecars ("mesh")
   */
  List<Route> translateRoutes(Located<VirtualService> vs, int port, String gateway) {
    return ctx.cachedRoutes(vs, port, gateway, () -> translate(vs, port, gateway));
  }

  private List<Route> translate(Located<VirtualService> vs, int port, String gateway) {
    List<Route> out = new ArrayList<>();
    List<HTTPRoute> http = vs.object().getSpec().getHttp();
    if (http == null) {
      return out;
    }
    for (HTTPRoute r : http) {
      List<HTTPMatchRequest> matches =
          r.getMatch() == null || r.getMatch().isEmpty()
              ? Collections.singletonList(null)
              : r.getMatch();
      boolean catchAll = false;
      for (HTTPMatchRequest m : matches) {
        if (m != null && m.getPort() != null && m.getPort() != 0 && m.getPort() != port) {
          continue;
        }
        if (m != null && m.getGateways() != null && !m.getGateways().isEmpty()) {
          boolean ok = false;
          for (String g : m.getGateways()) {
            String full = g.equals("mesh") || g.contains("/") ? g : vs.namespace() + "/" + g;
            if (gateway == null ? full.equals("mesh") : full.equals(gateway)) {
              ok = true;
            }
          }
          if (!ok) {
            continue;
          }
        }
        out.add(translateRoute(vs, r, m, port));
        if (RouteMatches.isCatchAll(m)) {
          catchAll = true;
          break;
        }
      }
      if (catchAll) {
        break;
      }
    }
    return out;
  }

  Route translateRoute(Located<VirtualService> vs, HTTPRoute r, HTTPMatchRequest m, int port) {
    Route.Builder rb = Route.newBuilder().setMatch(RouteMatches.translateMatch(m));
    String name = r.getName();
    if (m != null && m.getName() != null && !m.getName().isEmpty()) {
      name = name == null || name.isEmpty() ? m.getName() : name + "." + m.getName();
    }
    if (name != null && !name.isEmpty()) {
      rb.setName(name);
    }

    if (r.getRedirect() != null) {
      rb.setRedirect(RoutePolicies.redirect(r.getRedirect(), port));
    } else if (r.getDirectResponse() != null) {
      DirectResponseAction.Builder dr =
          DirectResponseAction.newBuilder()
              .setStatus(
                  r.getDirectResponse().getStatus() == null
                      ? 200
                      : r.getDirectResponse().getStatus().intValue());
      var body = r.getDirectResponse().getBody();
      if (body != null && body.getSpecifier() instanceof HTTPBodyString s) {
        dr.setBody(DataSource.newBuilder().setInlineString(s.getString()));
      }
      rb.setDirectResponse(dr);
    } else {
      rb.setRoute(routeAction(vs, r, port, rb));
    }
    Headers h = r.getHeaders();
    if (h != null) {
      RoutePolicies.addRequestHeaders(rb, h.getRequest());
      RoutePolicies.addResponseHeaders(rb, h.getResponse());
    }
    if (r.getFault() != null) {
      rb.putTypedPerFilterConfig(Wellknown.FAULT, Protos.any(RoutePolicies.fault(r.getFault())));
    }
    if (r.getCorsPolicy() != null) {
      rb.putTypedPerFilterConfig(Wellknown.CORS, Protos.any(RoutePolicies.cors(r)));
    }
    rb.setMetadata(
        Metadata.newBuilder()
            .putFilterMetadata(
                IstioMetadata.ISTIO,
                Struct.newBuilder()
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
        RoutePolicies.addRequestHeaders(rb, d.getHeaders().getRequest());
        RoutePolicies.addResponseHeaders(rb, d.getHeaders().getResponse());
      }
    } else if (dests.size() > 1) {
      WeightedCluster.Builder wc = WeightedCluster.newBuilder();
      int total = 0;
      for (HTTPRouteDestination d : dests) {
        int w = d.getWeight() == null ? 0 : d.getWeight();
        // Istio drops zero-weight destinations when there are others
        if (w == 0) {
          continue;
        }
        total += w;
        WeightedCluster.ClusterWeight.Builder cw =
            WeightedCluster.ClusterWeight.newBuilder()
                .setName(clusterFor(vs, d.getDestination(), port))
                .setWeight(Protos.u32(w));
        if (d.getHeaders() != null) {
          HeadersHeaderOperations req = d.getHeaders().getRequest();
          HeadersHeaderOperations resp = d.getHeaders().getResponse();
          if (req != null) {
            cw.addAllRequestHeadersToAdd(RoutePolicies.headerOptions(req));
            if (req.getRemove() != null) {
              cw.addAllRequestHeadersToRemove(req.getRemove());
            }
          }
          if (resp != null) {
            cw.addAllResponseHeadersToAdd(RoutePolicies.headerOptions(resp));
            if (resp.getRemove() != null) {
              cw.addAllResponseHeadersToRemove(resp.getRemove());
            }
          }
        }
        wc.addClusters(cw);
      }
      wc.setTotalWeight(Protos.u32(total));
      ra.setWeightedClusters(wc);
    }
    // Istio's route.go keeps the timeout and the retries on a route with a fault: Envoy's fault
    // filter answers an abort before the router, and the router's timer starts after a delay.
    Duration timeout = r.getTimeout() == null ? Protos.ZERO : Protos.duration(r.getTimeout());
    ra.setTimeout(timeout);
    List<RouteAction.HashPolicy> hash = List.of();
    if (!dests.isEmpty() && dests.get(0).getDestination() != null) {
      Destination d = dests.get(0).getDestination();
      String host = Hosts.fqdn(d.getHost(), vs.namespace());
      hash = hashPolicy(host, d.getSubset(), destinationPort(host, d, port));
    }
    RetryPolicy rp = RetryPolicies.retryPolicy(r.getRetries(), !hash.isEmpty());
    if (rp != null) {
      ra.setRetryPolicy(rp);
    }
    ra.setMaxStreamDuration(maxStreamDuration(timeout));
    if (r.getRewrite() != null) {
      if (r.getRewrite().getUri() != null) {
        ra.setPrefixRewrite(r.getRewrite().getUri());
      }
      if (r.getRewrite().getAuthority() != null) {
        ra.setHostRewriteLiteral(r.getRewrite().getAuthority());
      }
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
    if (d == null) {
      return ClusterNames.BLACK_HOLE;
    }
    String host = Hosts.fqdn(d.getHost(), vs.namespace());
    return ClusterNames.outbound(
        destinationPort(host, d, vhPort), emptyToNull(d.getSubset()), host);
  }

  int destinationPort(String host, Destination d, int vhPort) {
    if (d.getPort() != null && d.getPort().getNumber() != null && d.getPort().getNumber() > 0) {
      return d.getPort().getNumber().intValue();
    }
    MeshService svc = ctx.service(host);
    if (svc != null && svc.ports().size() == 1) {
      return svc.ports().get(0).port();
    }
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
    if (pct != null) {
      b.setRuntimeFraction(pct);
    }
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

  static RouteAction.MaxStreamDuration maxStreamDuration(Duration d) {
    return RouteAction.MaxStreamDuration.newBuilder()
        .setMaxStreamDuration(d)
        .setGrpcTimeoutHeaderMax(d)
        .build();
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
      if (c.getHttpCookie().getPath() != null) {
        cb.setPath(c.getHttpCookie().getPath());
      }
      if (c.getHttpCookie().getTtl() != null) {
        cb.setTtl(Protos.duration(c.getHttpCookie().getTtl()));
      }
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
