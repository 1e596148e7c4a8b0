package io.shopmesh.mesh.xds;

import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.http_inspector.v3.HttpInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.fabric8.istio.api.api.networking.v1alpha3.L4MatchAttributes;
import io.fabric8.istio.api.api.networking.v1alpha3.RouteDestination;
import io.fabric8.istio.api.api.networking.v1alpha3.TCPRoute;
import io.fabric8.istio.api.api.networking.v1alpha3.TLSMatchAttributes;
import io.fabric8.istio.api.api.networking.v1alpha3.TLSRoute;
import io.fabric8.istio.api.networking.v1.VirtualService;
import io.shopmesh.mesh.config.Hosts;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.Protocol;
import io.shopmesh.mesh.config.model.MeshService;
import io.shopmesh.mesh.wire.ClusterNames;
import io.shopmesh.mesh.wire.ListenerNames;
import io.shopmesh.mesh.wire.RouteNames;
import io.shopmesh.mesh.wire.Wellknown;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * A sidecar's outbound listeners, as Istio's listener.go and tls.go build them, one service port at
 * a time:
 *
 * <ul>
 *   <li>HTTP ports listen on {@code 0.0.0.0_<port>}: one HTTP connection manager chain (RDS by
 *       port) matched on plaintext HTTP ({@code raw_buffer}, ALPN {@code http/1.0}, {@code
 *       http/1.1}, {@code h2c} from the http_inspector), so that TLS and opaque TCP fall to the
 *       listener's passthrough chain;
 *   <li>TCP, TLS and auto (sniffed) ports listen on the service's address ({@code 1.2.3.4_82}), on
 *       {@code 0.0.0.0} for a service without one, and on {@code 0.0.0.0} with a destination prefix
 *       match for a CIDR address; TLS ports match the SNI of the VirtualService {@code tls} routes,
 *       else the service host (only when the listener is not bound to the service's own address);
 *       TCP ports follow the VirtualService {@code tcp} routes, else go to the service; an auto
 *       port has both the TCP chains and the HTTP chain (RDS {@code host:port} on a service
 *       address);
 *   <li>services sharing a listener merge their chains, a chain whose match an earlier one already
 *       has is dropped (Istio's conflict rules: an HTTP port does not displace a TCP port's
 *       listener, an auto port replaces an HTTP one bound to the same address);
 *   <li>a listener without a match-all chain gets {@code PassthroughFilterChain} as its default
 *       chain, to the mesh's catch-all cluster.
 * </ul>
 */
final class SidecarOutboundListeners {

  static final String RAW_BUFFER = "raw_buffer";
  static final List<String> PLAINTEXT_HTTP_ALPNS = List.of("http/1.0", "http/1.1", "h2c");
  private static final String MESH_GATEWAY = "mesh";

  private enum Kind {
    HTTP,
    TCP,
    AUTO
  }

  /** One filter chain before it is built: its match and its network filter. */
  private record ChainOpt(
      List<String> sni, List<String> cidrs, List<String> alpn, String transport, Filter filter) {

    boolean matchAll() {
      return (sni.isEmpty() || sni.contains("*"))
          && alpn.isEmpty()
          && transport.isEmpty()
          && cidrs.isEmpty();
    }

    boolean conflictsWith(ChainOpt o) {
      return transport.equals(o.transport)
          && alpn.equals(o.alpn)
          && sniSet(sni).equals(sniSet(o.sni))
          && cidrSet(cidrs).equals(cidrSet(o.cidrs));
    }

    private static Set<String> sniSet(List<String> sni) {
      Set<String> out = new HashSet<>(sni);
      out.remove("*");
      return out;
    }

    private static Set<String> cidrSet(List<String> cidrs) {
      Set<String> out = new HashSet<>();
      for (String c : cidrs) {
        CidrRange r = cidr(c);
        if (!r.getAddressPrefix().equals(ListenerNames.WILDCARD)) {
          out.add(masked(r.getAddressPrefix(), r.getPrefixLen().getValue()));
        }
      }
      return out;
    }

    /** The prefix with its host bits cleared, so that equal networks compare equal. */
    private static String masked(String ip, int bits) {
      try {
        byte[] b = InetAddress.getByName(ip).getAddress();
        for (int i = bits; i < b.length * 8; i++) {
          b[i / 8] &= (byte) ~(0x80 >> (i % 8));
        }
        return InetAddress.getByAddress(b).getHostAddress() + "/" + bits;
      } catch (UnknownHostException e) {
        return ip + "/" + bits;
      }
    }

    FilterChainMatch toMatch() {
      FilterChainMatch.Builder m =
          FilterChainMatch.newBuilder()
              .addAllApplicationProtocols(alpn)
              .setTransportProtocol(transport);
      if (!sni.isEmpty() && !sni.contains("*")) {
        m.addAllServerNames(new TreeSet<>(sni));
      }
      for (String c : new TreeSet<>(cidrs)) {
        CidrRange r = cidr(c);
        if (!r.getAddressPrefix().equals(ListenerNames.WILDCARD)) {
          m.addPrefixRanges(r);
        }
      }
      return m.build();
    }
  }

  private static final class Entry {
    final String bind;
    final int port;
    Protocol protocol;
    List<ChainOpt> chains;

    Entry(String bind, int port, Protocol protocol, List<ChainOpt> chains) {
      this.bind = bind;
      this.port = port;
      this.protocol = protocol;
      this.chains = new ArrayList<>(chains);
    }

    void merge(List<ChainOpt> incoming) {
      for (ChainOpt in : incoming) {
        if (chains.stream().noneMatch(c -> c.conflictsWith(in))) {
          chains.add(in);
        }
      }
    }
  }

  private final PushContext ctx;
  private final ProxyNode proxy;
  private final String catchAllCluster;
  private final Map<String, Entry> entries = new LinkedHashMap<>();

  SidecarOutboundListeners(PushContext ctx, ProxyNode proxy, String catchAllCluster) {
    this.ctx = ctx;
    this.proxy = proxy;
    this.catchAllCluster = catchAllCluster;
  }

  List<Listener> build() {
    for (MeshService svc : ctx.services()) {
      List<String> addresses = svc.addresses().isEmpty() ? List.of("") : svc.addresses();
      // Istio's ServiceEntry conversion makes one service per address
      for (String address : addresses) {
        for (MeshService.Port p : svc.ports()) {
          add(svc, address, p);
        }
      }
    }
    List<Entry> sorted = new ArrayList<>(entries.values());
    sorted.sort(Comparator.comparingInt((Entry e) -> e.port).thenComparing(e -> e.bind));
    List<Listener> out = new ArrayList<>();
    for (Entry e : sorted) {
      out.add(listener(e));
    }
    return out;
  }

  private static Kind kind(Protocol p) {
    if (p.isHttp()) {
      return Kind.HTTP;
    }
    if (p.isTcp()) {
      return Kind.TCP;
    }
    return p == Protocol.UNSUPPORTED ? Kind.AUTO : null;
  }

  private void add(MeshService svc, String address, MeshService.Port port) {
    Kind kind = kind(port.protocol());
    if (kind == null) {
      return;
    }
    String bind = ListenerNames.WILDCARD;
    List<String> cidrs = List.of();
    if (kind != Kind.HTTP && !address.isEmpty()) {
      if (address.contains("/")) {
        cidrs = List.of(address);
      } else {
        bind = address;
      }
    }
    String key = ListenerNames.of(bind, port.port());
    Entry cur = entries.get(key);
    Protocol protocol = port.protocol();
    List<ChainOpt> opts;
    boolean replace = cur == null;
    boolean mergeAsAuto = false;
    switch (kind) {
      case HTTP -> {
        if (cur != null && !cur.protocol.isTcp()) {
          return;
        }
        mergeAsAuto = cur != null;
        opts = List.of(httpChain(bind, port.port(), RouteNames.sidecar(port.port())));
        protocol = Protocol.UNSUPPORTED;
      }
      case TCP -> {
        opts = tcpChains(svc, address, cidrs, port);
        mergeAsAuto = cur != null && cur.protocol.isHttp();
      }
      default -> {
        opts = new ArrayList<>(tcpChains(svc, address, cidrs, port));
        if (cur != null && cur.protocol.isHttp()) {
          replace = true;
        } else if (cur != null && !cur.protocol.isTcp()) {
          break;
        } else {
          mergeAsAuto = cur != null;
        }
        String rds =
            bind.equals(ListenerNames.WILDCARD)
                ? RouteNames.sidecar(port.port())
                : svc.hostname() + ":" + port.port();
        opts.add(httpChain(bind, port.port(), rds));
      }
    }
    if (replace) {
      entries.put(key, new Entry(bind, port.port(), protocol, opts));
      return;
    }
    cur.merge(opts);
    if (mergeAsAuto) {
      cur.protocol = Protocol.UNSUPPORTED;
    }
  }

  private static ChainOpt httpChain(String bind, int port, String rds) {
    Filter hcm =
        ListenerBuilder.hcm(
            ListenerBuilder.httpManager(
                    ClusterNames.OUTBOUND + "_" + ListenerNames.of(bind, port), false)
                .setRds(
                    Rds.newBuilder().setConfigSource(Protos.ads()).setRouteConfigName(rds).build())
                .build());
    return new ChainOpt(List.of(), List.of(), PLAINTEXT_HTTP_ALPNS, RAW_BUFFER, hcm);
  }

  /** Istio's buildSidecarOutboundTCPListenerOpts: the TLS chains, then the TCP chains. */
  private List<ChainOpt> tcpChains(
      MeshService svc, String address, List<String> cidrs, MeshService.Port port) {
    List<Located<VirtualService>> vss = new ArrayList<>();
    for (Located<VirtualService> vs : ctx.sidecarVirtualServices()) {
      List<String> hosts = vs.object().getSpec() == null ? null : vs.object().getSpec().getHosts();
      if (hosts == null) {
        continue;
      }
      for (String h : hosts) {
        if (Hosts.matches(Hosts.fqdn(h, vs.namespace()), svc.hostname())) {
          vss.add(vs);
          break;
        }
      }
    }
    if (port.protocol().isTls()) {
      return tlsChains(svc, address, cidrs, port, vss);
    }
    return plainTcpChains(svc, cidrs, port, vss);
  }

  private List<ChainOpt> tlsChains(
      MeshService svc,
      String address,
      List<String> cidrs,
      MeshService.Port port,
      List<Located<VirtualService>> vss) {
    List<ChainOpt> out = new ArrayList<>();
    Set<String> handled = new HashSet<>();
    boolean hasMatch = false;
    for (Located<VirtualService> vs : vss) {
      List<TLSRoute> routes = vs.object().getSpec().getTls();
      if (routes == null) {
        continue;
      }
      for (TLSRoute r : routes) {
        if (r.getRoute() == null || r.getRoute().isEmpty() || r.getMatch() == null) {
          continue;
        }
        for (TLSMatchAttributes m : r.getMatch()) {
          if (!matches(
              m.getGateways(), m.getSourceLabels(), m.getPort(), m.getSourceNamespace(), port)) {
            continue;
          }
          List<String> subnets = nonNull(m.getDestinationSubnets());
          List<String> dest = subnets.isEmpty() ? cidrs : subnets;
          List<String> sni = nonNull(m.getSniHosts());
          if (handled.add(String.join(",", sni) + "|" + String.join(",", subnets))) {
            out.add(new ChainOpt(sni, dest, List.of(), "", routeFilter(vs, r.getRoute(), port)));
            hasMatch = true;
          }
        }
      }
    }
    if (!hasMatch) {
      // the host as SNI only where the listener cannot tell services apart by address
      boolean byAddress = !address.isEmpty() && !address.contains("/") && cidrs.isEmpty();
      List<String> sni = byAddress ? List.of() : List.of(svc.hostname());
      out.add(new ChainOpt(sni, cidrs, List.of(), "", tcpProxy(defaultCluster(svc, port))));
    }
    return out;
  }

  private List<ChainOpt> plainTcpChains(
      MeshService svc,
      List<String> cidrs,
      MeshService.Port port,
      List<Located<VirtualService>> vss) {
    List<ChainOpt> out = new ArrayList<>();
    boolean defaultAdded = false;
    outer:
    for (Located<VirtualService> vs : vss) {
      List<TCPRoute> routes = vs.object().getSpec().getTcp();
      if (routes == null) {
        continue;
      }
      for (TCPRoute r : routes) {
        if (r.getRoute() == null || r.getRoute().isEmpty()) {
          continue;
        }
        Filter f = routeFilter(vs, r.getRoute(), port);
        if (r.getMatch() == null || r.getMatch().isEmpty()) {
          out.add(new ChainOpt(List.of(), cidrs, List.of(), "", f));
          defaultAdded = true;
          break outer;
        }
        List<String> subnets = new ArrayList<>();
        for (L4MatchAttributes m : r.getMatch()) {
          if (!matches(
              m.getGateways(), m.getSourceLabels(), m.getPort(), m.getSourceNamespace(), port)) {
            continue;
          }
          List<String> ds = nonNull(m.getDestinationSubnets());
          if (ds.isEmpty()) {
            out.add(new ChainOpt(List.of(), cidrs, List.of(), "", f));
            defaultAdded = true;
            break outer;
          }
          subnets.addAll(ds);
        }
        if (!subnets.isEmpty()) {
          out.add(new ChainOpt(List.of(), subnets, List.of(), "", f));
          if (new TreeSet<>(subnets).equals(new TreeSet<>(cidrs))) {
            defaultAdded = true;
          }
        }
      }
    }
    if (!defaultAdded) {
      out.add(new ChainOpt(List.of(), cidrs, List.of(), "", tcpProxy(defaultCluster(svc, port))));
    }
    return out;
  }

  /** Istio's matchTCP / matchTLS: the conditions known when the config is built. */
  private boolean matches(
      List<String> gateways,
      Map<String, String> sourceLabels,
      Long matchPort,
      String sourceNamespace,
      MeshService.Port port) {
    boolean gatewayMatch =
        gateways == null || gateways.isEmpty() || gateways.contains(MESH_GATEWAY);
    boolean labelMatch =
        sourceLabels == null
            || sourceLabels.entrySet().stream()
                .allMatch(e -> Objects.equals(proxy.labels().get(e.getKey()), e.getValue()));
    boolean portMatch = matchPort == null || matchPort == 0 || matchPort == port.port();
    boolean nsMatch =
        sourceNamespace == null
            || sourceNamespace.isEmpty()
            || sourceNamespace.equals(proxy.namespace());
    return gatewayMatch && labelMatch && portMatch && nsMatch;
  }

  /** The service's own cluster: its only port, else the listener's port. */
  private static String defaultCluster(MeshService svc, MeshService.Port port) {
    int p = svc.ports().size() == 1 ? svc.ports().get(0).port() : port.port();
    return ClusterNames.outbound(p, null, svc.hostname());
  }

  /**
   * A tcp or tls route's tcp_proxy: one destination is its cluster; several are weighted clusters
   * (zero weights left out), with the VirtualService's {@code name.namespace} as stat prefix.
   */
  private Filter routeFilter(
      Located<VirtualService> vs, List<RouteDestination> dests, MeshService.Port port) {
    return routeFilter(ctx, vs, dests, port.port());
  }

  static Filter routeFilter(
      PushContext ctx, Located<VirtualService> vs, List<RouteDestination> dests, int port) {
    HttpRouteTranslator t = ctx.routeTranslator();
    if (dests.size() == 1) {
      return tcpProxy(t.clusterFor(vs, dests.get(0).getDestination(), port));
    }
    TcpProxy.WeightedCluster.Builder wc = TcpProxy.WeightedCluster.newBuilder();
    for (RouteDestination d : dests) {
      int w = d.getWeight() == null ? 0 : d.getWeight();
      if (w > 0) {
        wc.addClusters(
            TcpProxy.WeightedCluster.ClusterWeight.newBuilder()
                .setName(t.clusterFor(vs, d.getDestination(), port))
                .setWeight(w));
      }
    }
    return Filter.newBuilder()
        .setName(Wellknown.TCP_PROXY)
        .setTypedConfig(
            Protos.any(
                TcpProxy.newBuilder()
                    .setStatPrefix(vs.name() + "." + vs.namespace())
                    .setWeightedClusters(wc)
                    .build()))
        .build();
  }

  private static Filter tcpProxy(String cluster) {
    return ListenerBuilder.tcpProxy(cluster);
  }

  private Listener listener(Entry e) {
    Listener.Builder l =
        Listener.newBuilder()
            .setName(ListenerNames.of(e.bind, e.port))
            .setAddress(Protos.address(e.bind, e.port))
            .setTrafficDirection(TrafficDirection.OUTBOUND)
            .setBindToPort(Protos.bool(false));
    boolean tls = e.chains.stream().anyMatch(c -> !c.sni().isEmpty());
    boolean http = e.chains.stream().anyMatch(c -> !c.alpn().isEmpty());
    if (tls) {
      l.addListenerFilters(ListenerBuilder.tlsInspector());
    }
    if (http) {
      l.addListenerFilters(
          ListenerFilter.newBuilder()
              .setName(Wellknown.HTTP_INSPECTOR)
              .setTypedConfig(Protos.any(HttpInspector.getDefaultInstance())));
    }
    FilterChain defaultChain = null;
    List<FilterChain> chains = new ArrayList<>();
    for (ChainOpt c : e.chains) {
      FilterChain.Builder fc = FilterChain.newBuilder().addFilters(c.filter());
      if (c.matchAll()) {
        defaultChain = fc.build();
      } else {
        chains.add(fc.setFilterChainMatch(c.toMatch()).build());
      }
    }
    if (defaultChain != null && chains.isEmpty()) {
      chains.add(defaultChain);
      defaultChain = null;
    } else if (defaultChain == null) {
      defaultChain =
          FilterChain.newBuilder()
              .setName(ListenerNames.PASSTHROUGH_FILTER_CHAIN)
              .setFilterChainMatch(FilterChainMatch.getDefaultInstance())
              .addFilters(tcpProxy(catchAllCluster))
              .build();
    }
    l.addAllFilterChains(chains);
    if (defaultChain != null) {
      l.setDefaultFilterChain(defaultChain);
    }
    return l.build();
  }

  private static List<String> nonNull(List<String> l) {
    return l == null ? List.of() : l;
  }

  /** Istio's util.ConvertAddressToCidr: an IP is its full-length prefix. */
  static CidrRange cidr(String address) {
    int slash = address.indexOf('/');
    String ip = slash < 0 ? address : address.substring(0, slash);
    int bits =
        slash < 0 ? (ip.contains(":") ? 128 : 32) : Integer.parseInt(address.substring(slash + 1));
    return CidrRange.newBuilder().setAddressPrefix(ip).setPrefixLen(Protos.u32(bits)).build();
  }
}
