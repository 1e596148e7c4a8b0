package io.shopmesh.mesh.xds;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.fabric8.istio.api.api.networking.v1alpha3.Server;
import io.fabric8.istio.api.api.networking.v1alpha3.ServerTLSSettings;
import io.fabric8.istio.api.api.networking.v1alpha3.ServerTLSSettingsTLSmode;
import io.fabric8.istio.api.networking.v1.Gateway;
import io.fabric8.istio.api.networking.v1.VirtualService;
import io.shopmesh.mesh.config.Hosts;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.Protocol;
import io.shopmesh.mesh.config.model.MeshService;
import io.shopmesh.mesh.wire.ListenerNames;
import io.shopmesh.mesh.wire.RouteNames;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A router's config from the Gateways that select it, as Istio's gateway.go: server selection by
 * labels, one listener per listener port (TLS-terminating servers as their own filter chains by
 * SNI, plain HTTP through {@code http.PORT}), and the route configs with the routes of the bound
 * VirtualServices.
 */
public final class GatewayBuilder {

  private final PushContext ctx;
  private final HttpRouteTranslator translator;

  public GatewayBuilder(PushContext ctx) {
    this.ctx = ctx;
    this.translator = ctx.routeTranslator();
  }

  /** Gateway servers selected by the router's labels, grouped by listener (target) port. */
  public Map<Integer, List<GatewayServer>> gatewayServers(ProxyNode proxy) {
    Map<Integer, List<GatewayServer>> out = new TreeMap<>();
    for (Located<Gateway> gw : ctx.gateways()) {
      var spec = gw.object().getSpec();
      if (spec == null || spec.getServers() == null) {
        continue;
      }
      if (!PushContext.selects(spec.getSelector(), proxy.labels())) {
        continue;
      }
      for (Server s : spec.getServers()) {
        if (s.getPort() == null || s.getPort().getNumber() == null) {
          continue;
        }
        int number = s.getPort().getNumber().intValue();
        int target = targetPort(proxy, number);
        out.computeIfAbsent(target, k -> new ArrayList<>())
            .add(
                new GatewayServer(
                    gw.namespace() + "/" + gw.name(),
                    gw,
                    s,
                    number,
                    target,
                    Protocol.parse(s.getPort().getProtocol())));
      }
    }
    return out;
  }

  /** One Gateway server as the router serves it on a listener port. */
  public record GatewayServer(
      String gateway,
      Located<Gateway> source,
      Server server,
      int port,
      int listenerPort,
      Protocol protocol) {

    /** An HTTPS server in SIMPLE or MUTUAL mode: the router terminates TLS and routes HTTP. */
    public boolean terminatesTls() {
      ServerTLSSettings tls = server.getTls();
      return protocol == Protocol.HTTPS
          && tls != null
          && (tls.getMode() == ServerTLSSettingsTLSmode.SIMPLE
              || tls.getMode() == ServerTLSSettingsTLSmode.MUTUAL);
    }
  }

  /** The Service port that exposes the gateway pod maps server port 80 to listener 8080. */
  int targetPort(ProxyNode proxy, int number) {
    for (MeshService svc : ctx.servicesSelecting(proxy.namespace(), proxy.labels())) {
      MeshService.Port p = svc.port(number);
      if (p != null && p.targetPort() > 0) {
        return p.targetPort();
      }
    }
    return number;
  }

  public List<RouteConfiguration> buildRoutes(ProxyNode proxy) {
    List<RouteConfiguration> out = new ArrayList<>();
    gatewayServers(proxy)
        .forEach(
            (listenerPort, servers) -> {
              List<GatewayServer> http =
                  servers.stream().filter(s -> s.protocol().isHttpOrSniffed()).toList();
              if (!http.isEmpty()) {
                out.add(gatewayRouteConfig(gatewayRouteName(listenerPort), http));
              }
              for (GatewayServer gs : servers) {
                if (gs.terminatesTls()) {
                  out.add(gatewayRouteConfig(httpsRouteName(gs), List.of(gs)));
                }
              }
            });
    return out;
  }

  /** Istio's name for a TLS-terminating server's routes: https.443.https.gateway.namespace. */
  public static String httpsRouteName(GatewayServer gs) {
    String[] nsName = gs.gateway().split("/", 2);
    String portName =
        gs.server().getPort().getName() == null ? "" : gs.server().getPort().getName();
    return "https." + gs.port() + "." + portName + "." + nsName[1] + "." + nsName[0];
  }

  RouteConfiguration gatewayRouteConfig(String routeName, List<GatewayServer> http) {
    Map<String, VirtualHost> vhosts = new LinkedHashMap<>();
    int serverPort = http.get(0).port();
    for (GatewayServer gs : http) {
      List<String> serverHosts =
          gs.server().getHosts() == null ? List.of("*") : gs.server().getHosts();
      boolean redirect =
          gs.server().getTls() != null
              && Boolean.TRUE.equals(gs.server().getTls().getHttpsRedirect());
      for (Located<VirtualService> vs : ctx.gatewayVirtualServices(gs.gateway())) {
        List<String> hosts = vs.object().getSpec().getHosts();
        if (hosts == null) {
          continue;
        }
        for (String h : hosts) {
          if (!intersects(serverHosts, h)) {
            continue;
          }
          String name = h + ":" + gs.port();
          if (vhosts.containsKey(name)) {
            continue;
          }
          List<Route> routes = translator.translateRoutes(vs, gs.port(), gs.gateway());
          if (routes.isEmpty()) {
            continue;
          }
          VirtualHost.Builder vh =
              VirtualHost.newBuilder()
                  .setName(name)
                  .addDomains(h)
                  .addAllRoutes(routes)
                  .setIncludeRequestAttemptCount(true);
          if (redirect) {
            vh.setRequireTls(VirtualHost.TlsRequirementType.ALL);
          }
          vhosts.put(name, vh.build());
        }
      }
    }
    List<VirtualHost> list = new ArrayList<>(vhosts.values());
    if (list.isEmpty()) {
      list.add(
          VirtualHost.newBuilder()
              .setName("blackhole:" + serverPort)
              .addDomains("*")
              .addRoutes(
                  Route.newBuilder()
                      .setName("default")
                      .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                      .setDirectResponse(DirectResponseAction.newBuilder().setStatus(404)))
              .setIncludeRequestAttemptCount(true)
              .build());
    }
    // gateways match the host whatever port the client used, as Istio configures them
    return RouteConfiguration.newBuilder()
        .setName(routeName)
        .addAllVirtualHosts(list)
        .setValidateClusters(Protos.bool(false))
        .setIgnorePortInHostMatching(true)
        .build();
  }

  public static String gatewayRouteName(int listenerPort) {
    return RouteNames.gateway(listenerPort);
  }

  static boolean intersects(List<String> serverHosts, String vsHost) {
    for (String sh : serverHosts) {
      String h = sh.contains("/") ? sh.substring(sh.indexOf('/') + 1) : sh;
      if (Hosts.matches(h, vsHost)) {
        return true;
      }
    }
    return false;
  }

  /** Router listeners: one per listener port of the selected Gateway servers. */
  public List<Listener> buildListeners(ProxyNode proxy) {
    List<Listener> out = new ArrayList<>();
    gatewayServers(proxy)
        .forEach(
            (listenerPort, servers) -> {
              Listener.Builder l =
                  Listener.newBuilder()
                      .setName(ListenerNames.forPort(listenerPort))
                      .setAddress(Protos.address("0.0.0.0", listenerPort))
                      .setTrafficDirection(TrafficDirection.OUTBOUND);
              boolean plainHttp = false;
              Map<String, FilterChain> tlsChains = new LinkedHashMap<>();
              for (GatewayServer gs : servers) {
                ServerTLSSettings tls = gs.server().getTls();
                if (gs.terminatesTls()) {
                  String rdsName = httpsRouteName(gs);
                  FilterChain.Builder fc =
                      FilterChain.newBuilder()
                          .setFilterChainMatch(
                              FilterChainMatch.newBuilder()
                                  .addAllServerNames(serverNames(gs.server().getHosts())))
                          .setTransportSocket(downstreamTls(tls))
                          .addFilters(
                              ListenerBuilder.hcm(
                                  ListenerBuilder.httpManager(
                                          ListenerNames.outboundStatPrefix(listenerPort), true)
                                      .setRds(
                                          Rds.newBuilder()
                                              .setConfigSource(Protos.ads())
                                              .setRouteConfigName(rdsName))
                                      .build()));
                  tlsChains.putIfAbsent(rdsName, fc.build());
                } else if (gs.protocol().isHttpOrSniffed()) {
                  plainHttp = true;
                }
              }
              if (!tlsChains.isEmpty()) {
                l.addListenerFilters(ListenerBuilder.tlsInspector());
                l.addAllFilterChains(tlsChains.values());
              }
              if (plainHttp) {
                l.addFilterChains(
                    FilterChain.newBuilder()
                        .addFilters(
                            ListenerBuilder.hcm(
                                ListenerBuilder.httpManager(
                                        ListenerNames.outboundStatPrefix(listenerPort), true)
                                    .setRds(
                                        Rds.newBuilder()
                                            .setConfigSource(Protos.ads())
                                            .setRouteConfigName(gatewayRouteName(listenerPort)))
                                    .build())));
              }
              if (l.getFilterChainsCount() > 0) {
                out.add(l.build());
              }
            });
    return out;
  }

  private static List<String> serverNames(List<String> hosts) {
    List<String> out = new ArrayList<>();
    if (hosts == null) {
      return out;
    }
    for (String h : hosts) {
      String host = h.contains("/") ? h.substring(h.indexOf('/') + 1) : h;
      if (!host.equals("*")) {
        out.add(host);
      }
    }
    return out;
  }

  /**
   * Gateway TLS termination. serverCertificate/privateKey are files; a credentialName stands for
   * the files {@code /etc/certs/<credentialName>/tls.crt} and {@code tls.key} (a mounted secret).
   */
  static TransportSocket downstreamTls(ServerTLSSettings tls) {
    String cert = tls.getServerCertificate();
    String key = tls.getPrivateKey();
    if (tls.getCredentialName() != null) {
      cert = "/etc/certs/" + tls.getCredentialName() + "/tls.crt";
      key = "/etc/certs/" + tls.getCredentialName() + "/tls.key";
    }
    CommonTlsContext.Builder common =
        CommonTlsContext.newBuilder().addAlpnProtocols("h2").addAlpnProtocols("http/1.1");
    if (cert != null) {
      common.addTlsCertificates(
          TlsCertificate.newBuilder()
              .setCertificateChain(DataSource.newBuilder().setFilename(cert))
              .setPrivateKey(DataSource.newBuilder().setFilename(key == null ? "" : key)));
    }
    DownstreamTlsContext.Builder d = DownstreamTlsContext.newBuilder().setCommonTlsContext(common);
    if (tls.getMode() == ServerTLSSettingsTLSmode.MUTUAL) {
      d.setRequireClientCertificate(Protos.bool(true));
    }
    return TransportSocket.newBuilder()
        .setName(ClusterBuilder.TLS_SOCKET)
        .setTypedConfig(Protos.any(d.build()))
        .build();
  }
}
