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
import io.shopmesh.mesh.wire.SourceMetadata;
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
    return translateRoutes(vs, port, gateway, null);
  }

  /**
   * The routes for one proxy: matches with {@code sourceLabels} / {@code sourceNamespace} are kept
   * only when they select this proxy (Istio's sourceMatchHTTP); a null proxy keeps them all. The
   * translation is shared by every proxy that the source conditions treat alike.
   */
  List<Route> translateRoutes(
      Located<VirtualService> vs, int port, String gateway, ProxyNode proxy) {
    return ctx.cachedRoutes(
        vs, port, gateway, sourceKey(vs, proxy), () -> translate(vs, port, gateway, proxy));
  }

  /** Which of the VirtualService's source-conditioned matches select this proxy, as a key. */
  private static String sourceKey(Located<VirtualService> vs, ProxyNode proxy) {
    List<HTTPRoute> http = vs.object().getSpec().getHttp();
    if (http == null) {
      return "";
    }
    StringBuilder key = new StringBuilder();
    for (HTTPRoute r : http) {
      if (r.getMatch() == null) {
        continue;
      }
      for (HTTPMatchRequest m : r.getMatch()) {
        if (m != null && hasSourceCondition(m)) {
          key.append(proxy == null ? '*' : sourceMatches(m, proxy) ? '1' : '0');
        }
      }
    }
    return key.toString();
  }

  private static boolean hasSourceCondition(HTTPMatchRequest m) {
    return (m.getGateways() == null || m.getGateways().isEmpty())
        && ((m.getSourceLabels() != null && !m.getSourceLabels().isEmpty())
            || (m.getSourceNamespace() != null && !m.getSourceNamespace().isEmpty()));
  }

  /**
   * Istio's sourceMatchHTTP for a match without gateways: its sourceLabels are a subset of the
   * proxy's labels and its sourceNamespace, if any, is the proxy's namespace.
   */
  static boolean sourceMatches(HTTPMatchRequest m, ProxyNode proxy) {
    if (proxy == null) {
      return true;
    }
    if (!PushContext.labelsMatch(m.getSourceLabels(), proxy.labels())) {
      return false;
    }
    String ns = m.getSourceNamespace();
    return ns == null || ns.isEmpty() || ns.equals(proxy.namespace());
  }

  private List<Route> translate(
      Located<VirtualService> vs, int port, String gateway, ProxyNode proxy) {
    List<Route> out = new ArrayList<>();
    List<HTTPRoute> http = vs.object().getSpec().getHttp();
    if (http == null) {
      return out;
    }
    for (int i = 0; i < http.size(); i++) {
      HTTPRoute r = http.get(i);
      List<HTTPMatchRequest> matches =
          r.getMatch() == null || r.getMatch().isEmpty()
              ? Collections.singletonList(null)
              : r.getMatch();
      boolean catchAll = false;
      for (int j = 0; j < matches.size(); j++) {
        HTTPMatchRequest m = matches.get(j);
        if (m != null && m.getPort() != null && m.getPort() != 0 && m.getPort() != port) {
          continue;
        }
        if (m != null && m.getGateways() != null && !m.getGateways().isEmpty()) {
          // a match naming gateways is kept for those gateways; its source labels are not checked
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
        } else if (m != null && !sourceMatches(m, proxy)) {
          continue;
        }
        out.add(translateRoute(vs, r, m, port, i, m == null ? -1 : j));
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

  /**
   * One Envoy route of http[rule].match[match] ({@code match} -1: the rule has none), with Istio's
   * config metadata and the file:line it was read from.
   */
  Route translateRoute(
      Located<VirtualService> vs, HTTPRoute r, HTTPMatchRequest m, int port, int rule, int match) {
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
                    .build())
            .putFilterMetadata(SourceMetadata.NAMESPACE, sourceMetadata(vs, "http", rule, match)));
    rb.setDecorator(Decorator.newBuilder().setOperation(operation(rb, vs.name(), port)));
    return rb.build();
  }

  /**
   * Where a rule was read from ({@link SourceMetadata}): the line of its match, or of the rule when
   * it has none. The line is part of the route, so a file edited only above the rule pushes again
   * (what a trace shows changes).
   */
  static Struct sourceMetadata(Located<?> vs, String kind, int rule, int match) {
    String field = "spec." + kind + "[" + rule + "]" + (match >= 0 ? ".match[" + match + "]" : "");
    Struct.Builder b =
        Struct.newBuilder()
            .putFields(SourceMetadata.RULE_KIND, Protos.str(kind))
            .putFields(SourceMetadata.RULE, Protos.num(rule));
    if (match >= 0) {
      b.putFields(SourceMetadata.MATCH, Protos.num(match));
    }
    if (vs.source() != null) {
      b.putFields(SourceMetadata.SOURCE, Protos.str(vs.source().at(field).toString()));
    }
    return b.build();
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
    // Istio appends the hash policy of every destination (route.go processDestination and
    // processWeightedDestination); only a single destination's makes the retries consistent-hash
    List<RouteAction.HashPolicy> hash = new ArrayList<>();
    boolean consistentHash = false;
    if (dests.size() == 1) {
      HTTPRouteDestination d = dests.get(0);
      ra.setCluster(clusterFor(vs, d.getDestination(), port));
      if (d.getHeaders() != null) {
        RoutePolicies.addRequestHeaders(rb, d.getHeaders().getRequest());
        RoutePolicies.addResponseHeaders(rb, d.getHeaders().getResponse());
      }
      hash.addAll(destinationHashPolicy(vs, d, port));
      consistentHash = !hash.isEmpty();
    } else if (dests.size() > 1) {
      WeightedCluster.Builder wc = WeightedCluster.newBuilder();
      for (HTTPRouteDestination d : dests) {
        int w = d.getWeight() == null ? 0 : d.getWeight();
        // Istio drops zero-weight destinations when there are others
        if (w == 0) {
          continue;
        }
        WeightedCluster.ClusterWeight.Builder cw =
            WeightedCluster.ClusterWeight.newBuilder()
                .setName(clusterFor(vs, d.getDestination(), port))
                .setWeight(Protos.u32(w));
        if (d.getHeaders() != null) {
          HeadersHeaderOperations req = d.getHeaders().getRequest();
          HeadersHeaderOperations resp = d.getHeaders().getResponse();
          if (req != null) {
            cw.addAllRequestHeadersToAdd(RoutePolicies.headerOptions(req));
            cw.addAllRequestHeadersToRemove(RoutePolicies.removable(req));
            String authority = RoutePolicies.authority(req);
            if (authority != null) {
              cw.setHostRewriteLiteral(authority);
            }
          }
          if (resp != null) {
            cw.addAllResponseHeadersToAdd(RoutePolicies.headerOptions(resp));
            cw.addAllResponseHeadersToRemove(RoutePolicies.removable(resp));
          }
        }
        wc.addClusters(cw);
        hash.addAll(destinationHashPolicy(vs, d, port));
      }
      // no total_weight: deprecated in Envoy, Istio leaves it to the sum of the weights
      ra.setWeightedClusters(wc);
    }
    // Istio's route.go keeps the timeout and the retries on a route with a fault: Envoy's fault
    // filter answers an abort before the router, and the router's timer starts after a delay.
    Duration timeout = r.getTimeout() == null ? Protos.ZERO : Protos.duration(r.getTimeout());
    ra.setTimeout(timeout);
    RetryPolicy rp = RetryPolicies.retryPolicy(r.getRetries(), consistentHash);
    if (rp != null) {
      ra.setRetryPolicy(rp);
    }
    setMaxGrpcTimeout(ra, timeout);
    // Istio: a host or :authority header set on the route becomes a host rewrite, rewrite.authority
    // wins over it, and a single destination's only applies when neither is given
    String authority =
        RoutePolicies.authority(r.getHeaders() == null ? null : r.getHeaders().getRequest());
    if (r.getRewrite() != null && r.getRewrite().getAuthority() != null) {
      authority = r.getRewrite().getAuthority();
    }
    if (authority == null && dests.size() == 1 && dests.get(0).getHeaders() != null) {
      authority = RoutePolicies.authority(dests.get(0).getHeaders().getRequest());
    }
    if (authority != null) {
      ra.setHostRewriteLiteral(authority);
    }
    if (r.getRewrite() != null) {
      if (r.getRewrite().getUri() != null) {
        ra.setPrefixRewrite(r.getRewrite().getUri());
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

  private List<RouteAction.HashPolicy> destinationHashPolicy(
      Located<VirtualService> vs, HTTPRouteDestination d, int port) {
    Destination dest = d.getDestination();
    if (dest == null) {
      return List.of();
    }
    String host = Hosts.fqdn(dest.getHost(), vs.namespace());
    return hashPolicy(host, dest.getSubset(), destinationPort(host, dest, port));
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

  /**
   * Istio's setTimeout for outbound and gateway routes: the deprecated {@code max_grpc_timeout}
   * mirrors the route timeout (0s: no limit on grpc-timeout), no {@code max_stream_duration}.
   */
  @SuppressWarnings("deprecation")
  static void setMaxGrpcTimeout(RouteAction.Builder ra, Duration timeout) {
    ra.setMaxGrpcTimeout(timeout);
  }

  /** The inbound default route's stream duration (Istio's BuildDefaultHTTPInboundRoute). */
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
