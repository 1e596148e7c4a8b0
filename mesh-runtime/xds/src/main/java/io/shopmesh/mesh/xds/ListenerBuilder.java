package io.shopmesh.mesh.xds;

import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.route.v3.Decorator;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.shopmesh.mesh.config.model.MeshService;
import io.shopmesh.mesh.wire.ClusterNames;
import io.shopmesh.mesh.wire.ListenerNames;
import io.shopmesh.mesh.wire.Wellknown;
import io.shopmesh.mesh.xds.authz.RbacBuilder;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds LDS, as Istio's listener.go: for a sidecar, the outbound listeners of {@link
 * SidecarOutboundListeners} ({@code 0.0.0.0_8080}, {@code 1.2.3.4_82}), {@code virtualOutbound}
 * (15001) and {@code virtualInbound} (15006, one filter chain per destination port). A router's
 * listeners are built by {@link GatewayBuilder}.
 */
public final class ListenerBuilder {

  public static final String HCM = Wellknown.HTTP_CONNECTION_MANAGER;
  public static final String TCP_PROXY = Wellknown.TCP_PROXY;
  public static final int OUTBOUND_PORT = 15001;
  public static final int INBOUND_PORT = 15006;

  private final PushContext ctx;

  public ListenerBuilder(PushContext ctx) {
    this.ctx = ctx;
  }

  public List<Listener> buildSidecar(ProxyNode proxy, List<ClusterBuilder.InboundPort> inbound) {
    List<Listener> out =
        new ArrayList<>(new SidecarOutboundListeners(ctx, proxy, ctx.catchAllCluster()).build());
    out.add(virtualOutbound(ctx.catchAllCluster()));
    out.add(virtualInbound(proxy, inbound));
    return out;
  }

  /** Istio's virtualOutbound: traffic to no outbound listener goes to the catch-all cluster. */
  static Listener virtualOutbound(String catchAll) {
    return Listener.newBuilder()
        .setName(ListenerNames.VIRTUAL_OUTBOUND)
        .setAddress(Protos.address("0.0.0.0", OUTBOUND_PORT))
        .setTrafficDirection(TrafficDirection.OUTBOUND)
        .setUseOriginalDst(Protos.bool(true))
        .addFilterChains(
            FilterChain.newBuilder()
                .setName(ListenerNames.VIRTUAL_OUTBOUND_BLACKHOLE)
                .setFilterChainMatch(
                    FilterChainMatch.newBuilder().setDestinationPort(Protos.u32(OUTBOUND_PORT)))
                .addFilters(tcpProxy(ClusterNames.BLACK_HOLE)))
        .addFilterChains(
            FilterChain.newBuilder()
                .setName(ListenerNames.VIRTUAL_OUTBOUND_CATCHALL)
                .addFilters(tcpProxy(catchAll)))
        .build();
  }

  Listener virtualInbound(ProxyNode proxy, List<ClusterBuilder.InboundPort> inbound) {
    Listener.Builder l =
        Listener.newBuilder()
            .setName(ListenerNames.VIRTUAL_INBOUND)
            .setAddress(Protos.address("0.0.0.0", INBOUND_PORT))
            .setTrafficDirection(TrafficDirection.INBOUND)
            .setUseOriginalDst(Protos.bool(true))
            .addListenerFilters(
                ListenerFilter.newBuilder()
                    .setName(Wellknown.ORIGINAL_DST)
                    .setTypedConfig(Protos.any(OriginalDst.getDefaultInstance())))
            .addFilterChains(
                FilterChain.newBuilder()
                    .setName(ListenerNames.VIRTUAL_INBOUND_BLACKHOLE)
                    .setFilterChainMatch(
                        FilterChainMatch.newBuilder().setDestinationPort(Protos.u32(INBOUND_PORT)))
                    .addFilters(tcpProxy(ClusterNames.BLACK_HOLE)));
    RbacBuilder rbac = RbacBuilder.forWorkload(ctx.config(), proxy.namespace(), proxy.labels());
    List<HttpFilter> httpRbac = rbac.buildHttp();
    List<Filter> tcpRbac = rbac.buildTcp();
    for (ClusterBuilder.InboundPort ip : inbound) {
      String cluster = ClusterNames.inbound(ip.targetPort());
      FilterChain.Builder fc =
          FilterChain.newBuilder()
              .setName(ListenerNames.forPort(ip.targetPort()))
              .setFilterChainMatch(
                  FilterChainMatch.newBuilder().setDestinationPort(Protos.u32(ip.targetPort())));
      if (ip.protocol().isHttpOrSniffed()) {
        String op =
            ip.services().isEmpty()
                ? cluster
                : ip.services().get(0).hostname() + ":" + servicePort(ip) + "/*";
        RouteConfiguration rc =
            RouteConfiguration.newBuilder()
                .setName(cluster)
                .addVirtualHosts(
                    VirtualHost.newBuilder()
                        .setName(ListenerNames.inboundHttpRoute(ip.targetPort()))
                        .addDomains("*")
                        .addRoutes(
                            Route.newBuilder()
                                .setName("default")
                                .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                                .setRoute(
                                    RouteAction.newBuilder()
                                        .setCluster(cluster)
                                        .setTimeout(Protos.ZERO)
                                        .setMaxStreamDuration(
                                            HttpRouteTranslator.maxStreamDuration(Protos.ZERO)))
                                .setDecorator(Decorator.newBuilder().setOperation(op))))
                .setValidateClusters(Protos.bool(false))
                .build();
        fc.addFilters(
            hcm(
                withRbac(
                        httpManager(ListenerNames.inboundStatPrefix(ip.targetPort()), false),
                        httpRbac)
                    .setRouteConfig(rc)
                    .build()));
      } else {
        fc.addAllFilters(tcpRbac).addFilters(tcpProxy(cluster));
      }
      l.addFilterChains(fc);
    }
    l.addFilterChains(
        FilterChain.newBuilder()
            .setName(ListenerNames.VIRTUAL_INBOUND)
            .setFilterChainMatch(
                FilterChainMatch.newBuilder()
                    .addPrefixRanges(
                        CidrRange.newBuilder()
                            .setAddressPrefix("0.0.0.0")
                            .setPrefixLen(Protos.u32(0))))
            .addAllFilters(tcpRbac)
            .addFilters(tcpProxy(ClusterNames.INBOUND_PASSTHROUGH)));
    return l.build();
  }

  /**
   * The AuthorizationPolicy filters first in the HTTP filter list, as Istio puts authorization
   * ahead of the other HTTP filters (so a denied request is not delayed or aborted by a fault).
   */
  static HttpConnectionManager.Builder withRbac(
      HttpConnectionManager.Builder m, List<HttpFilter> rbac) {
    for (int i = 0; i < rbac.size(); i++) {
      m.addHttpFilters(i, rbac.get(i));
    }
    return m;
  }

  private static int servicePort(ClusterBuilder.InboundPort ip) {
    MeshService s = ip.services().get(0);
    for (MeshService.Port p : s.ports()) {
      if (p.targetPort() == ip.targetPort()
          || (p.name() != null && p.name().equals(ip.portName()))) {
        return p.port();
      }
    }
    return ip.targetPort();
  }

  static ListenerFilter tlsInspector() {
    return ListenerFilter.newBuilder()
        .setName(Wellknown.TLS_INSPECTOR)
        .setTypedConfig(Protos.any(TlsInspector.getDefaultInstance()))
        .build();
  }

  static HttpConnectionManager.Builder httpManager(String statPrefix, boolean gateway) {
    return HttpConnectionManager.newBuilder()
        .setStatPrefix(statPrefix)
        .addHttpFilters(
            HttpFilter.newBuilder()
                .setName(Wellknown.FAULT)
                .setTypedConfig(Protos.any(HTTPFault.getDefaultInstance())))
        .addHttpFilters(
            HttpFilter.newBuilder()
                .setName(Wellknown.CORS)
                .setTypedConfig(Protos.any(Cors.getDefaultInstance())))
        .addHttpFilters(
            HttpFilter.newBuilder()
                .setName(Wellknown.ROUTER)
                .setTypedConfig(Protos.any(Router.getDefaultInstance())))
        .setUseRemoteAddress(Protos.bool(gateway))
        .setNormalizePath(Protos.bool(true))
        .addUpgradeConfigs(
            HttpConnectionManager.UpgradeConfig.newBuilder().setUpgradeType("websocket"));
  }

  static Filter hcm(HttpConnectionManager m) {
    return Filter.newBuilder().setName(HCM).setTypedConfig(Protos.any(m)).build();
  }

  static Filter tcpProxy(String cluster) {
    return Filter.newBuilder()
        .setName(TCP_PROXY)
        .setTypedConfig(
            Protos.any(TcpProxy.newBuilder().setStatPrefix(cluster).setCluster(cluster).build()))
        .build();
  }
}
