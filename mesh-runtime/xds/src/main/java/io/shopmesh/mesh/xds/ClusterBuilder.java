package io.shopmesh.mesh.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.Struct;
import com.google.protobuf.UInt64Value;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.UpstreamConnectionOptions;
import io.envoyproxy.envoy.config.core.v3.BindConfig;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.Http1ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TcpKeepalive;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.core.v3.UpstreamHttpProtocolOptions;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.ExplicitHttpConfig;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.UseDownstreamHttpConfig;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.Percent;
import io.fabric8.istio.api.api.networking.v1alpha3.ClientTLSSettings;
import io.fabric8.istio.api.api.networking.v1alpha3.ClientTLSSettingsTLSmode;
import io.fabric8.istio.api.api.networking.v1alpha3.ConnectionPoolSettings;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettings;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHash;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLB;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsConsistentHashLBMaglev;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsSimple;
import io.fabric8.istio.api.api.networking.v1alpha3.LoadBalancerSettingsSimpleLB;
import io.fabric8.istio.api.api.networking.v1alpha3.OutlierDetection;
import io.fabric8.istio.api.api.networking.v1alpha3.Subset;
import io.fabric8.istio.api.networking.v1.DestinationRule;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.Protocol;
import io.shopmesh.mesh.config.model.MeshService;
import io.shopmesh.mesh.wire.ClusterNames;
import io.shopmesh.mesh.wire.IstioCertificates;
import io.shopmesh.mesh.wire.IstioMetadata;
import io.shopmesh.mesh.wire.NodeId;
import io.shopmesh.mesh.wire.Wellknown;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds CDS for a proxy, as Istio's cluster_builder.go: one outbound cluster per service port and
 * per DestinationRule subset, the inbound clusters of a sidecar, and the BlackHole/Passthrough
 * clusters. Policies from DestinationRules are applied the way applyTrafficPolicy does.
 */
public final class ClusterBuilder {

  static final String HTTP_PROTOCOL_OPTIONS =
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
  static final String TLS_SOCKET = Wellknown.TRANSPORT_SOCKET_TLS;
  static final long MAX = 4294967295L;
  static final Duration CONNECT_TIMEOUT = Protos.seconds(10);

  private final PushContext ctx;

  public ClusterBuilder(PushContext ctx) {
    this.ctx = ctx;
  }

  /** Outbound clusters for every visible service, plus the BlackHole/Passthrough clusters. */
  public List<Cluster> buildOutbound(ProxyNode proxy) {
    List<Cluster> out = new ArrayList<>();
    for (MeshService svc : ctx.services()) {
      Located<DestinationRule> dr = ctx.destinationRule(svc.hostname());
      for (MeshService.Port port : svc.ports()) {
        out.add(outbound(svc, port, null, null, dr));
        if (dr != null && dr.object().getSpec().getSubsets() != null) {
          for (Subset s : dr.object().getSpec().getSubsets()) {
            out.add(outbound(svc, port, s.getName(), s, dr));
          }
        }
      }
    }
    out.add(blackHole());
    if (proxy.type() == NodeId.Type.SIDECAR) {
      out.add(passthrough());
      out.add(inboundPassthrough());
    }
    return out;
  }

  /** {@code inbound|PORT||}: a STATIC cluster to the local app at podIP:port. */
  public List<Cluster> buildInbound(ProxyNode proxy, List<InboundPort> ports) {
    List<Cluster> out = new ArrayList<>();
    for (InboundPort ip : ports) {
      String name = ClusterNames.inbound(ip.targetPort());
      Cluster.Builder c =
          Cluster.newBuilder()
              .setName(name)
              .setType(Cluster.DiscoveryType.STATIC)
              .setConnectTimeout(CONNECT_TIMEOUT)
              .setCircuitBreakers(defaultCircuitBreakers())
              .setLoadAssignment(
                  ClusterLoadAssignment.newBuilder()
                      .setClusterName(name)
                      .addEndpoints(
                          LocalityLbEndpoints.newBuilder()
                              .addLbEndpoints(
                                  LbEndpoint.newBuilder()
                                      .setEndpoint(
                                          Endpoint.newBuilder()
                                              .setAddress(
                                                  Protos.address(proxy.ip(), ip.targetPort()))))));
      Metadata.Builder md = Metadata.newBuilder();
      md.putFilterMetadata(
          IstioMetadata.ISTIO,
          Struct.newBuilder()
              .putFields(IstioMetadata.SERVICES, servicesList(ip.services()))
              .build());
      c.setMetadata(md);
      if (ip.protocol().isHttp2()) {
        c.putTypedExtensionProtocolOptions(
            HTTP_PROTOCOL_OPTIONS,
            Protos.any(
                Protos.upstreamHttpOptions()
                    .setExplicitHttpConfig(
                        ExplicitHttpConfig.newBuilder()
                            .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
                    .build()));
      }
      out.add(c.build());
    }
    return out;
  }

  /** A port the sidecar receives traffic on, and the services that route to it. */
  public record InboundPort(
      int targetPort, Protocol protocol, String portName, List<MeshService> services) {}

  Cluster outbound(
      MeshService svc,
      MeshService.Port port,
      String subsetName,
      Subset subset,
      Located<DestinationRule> dr) {
    String name = ClusterNames.outbound(port.port(), subsetName, svc.hostname());
    TrafficPolicies tp = TrafficPolicies.forCluster(dr, subsetName, port.port());
    Cluster.Builder c = Cluster.newBuilder().setName(name).setConnectTimeout(CONNECT_TIMEOUT);
    switch (svc.resolution()) {
      case CLIENT_SIDE, STATIC ->
          c.setType(Cluster.DiscoveryType.EDS)
              .setEdsClusterConfig(
                  Cluster.EdsClusterConfig.newBuilder()
                      .setEdsConfig(Protos.ads())
                      .setServiceName(name));
      case DNS, DNS_ROUND_ROBIN -> {
        // Istio's cluster.go: DNS is STRICT_DNS, DNS_ROUND_ROBIN LOGICAL_DNS
        c.setType(
                svc.resolution() == MeshService.Resolution.DNS
                    ? Cluster.DiscoveryType.STRICT_DNS
                    : Cluster.DiscoveryType.LOGICAL_DNS)
            .setDnsLookupFamily(Cluster.DnsLookupFamily.V4_ONLY)
            .setRespectDnsTtl(true);
        LocalityLbEndpoints.Builder lle = LocalityLbEndpoints.newBuilder();
        if (svc.endpoints().isEmpty()) {
          lle.addLbEndpoints(
              LbEndpoint.newBuilder()
                  .setEndpoint(
                      Endpoint.newBuilder()
                          .setAddress(Protos.address(svc.hostname(), port.targetPort())))
                  .setLoadBalancingWeight(Protos.u32(1)));
        } else {
          for (MeshService.Endpoint ep : svc.endpoints()) {
            if (!ep.serves(port.port())) {
              continue;
            }
            Long p = port.name() == null ? null : ep.ports().get(port.name());
            lle.addLbEndpoints(
                LbEndpoint.newBuilder()
                    .setEndpoint(
                        Endpoint.newBuilder()
                            .setAddress(
                                Protos.address(
                                    ep.address(), p != null ? p.intValue() : port.targetPort())))
                    .setLoadBalancingWeight(Protos.u32(1)));
          }
        }
        c.setLoadAssignment(
            ClusterLoadAssignment.newBuilder().setClusterName(name).addEndpoints(lle));
      }
      case PASSTHROUGH ->
          c.setType(Cluster.DiscoveryType.ORIGINAL_DST)
              .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED);
    }
    if (svc.resolution() != MeshService.Resolution.PASSTHROUGH) {
      applyLoadBalancer(c, tp.loadBalancer());
    }
    applyConnectionPool(c, tp.connectionPool(), port.protocol());
    applyOutlierDetection(c, tp.outlierDetection());
    applyTls(c, tp.tls(), port.protocol(), name);

    Struct.Builder istio = Struct.newBuilder();
    if (dr != null) {
      istio.putFields(
          IstioMetadata.CONFIG,
          Protos.str(IstioMetadata.configPath("destination-rule", dr.namespace(), dr.name())));
    }
    istio.putFields(IstioMetadata.DEFAULT_ORIGINAL_PORT, Protos.num(port.port()));
    istio.putFields(IstioMetadata.SERVICES, servicesList(List.of(svc)));
    if (subsetName != null) {
      istio.putFields(IstioMetadata.SUBSET, Protos.str(subsetName));
    }
    c.setMetadata(Metadata.newBuilder().putFilterMetadata(IstioMetadata.ISTIO, istio.build()));
    return c.build();
  }

  static Value servicesList(List<MeshService> svcs) {
    List<Value> vs = new ArrayList<>();
    for (MeshService s : svcs) {
      vs.add(
          Protos.struct(
              Struct.newBuilder()
                  .putFields(IstioMetadata.SERVICE_HOST, Protos.str(s.hostname()))
                  .putFields(IstioMetadata.SERVICE_NAME, Protos.str(s.name()))
                  .putFields(IstioMetadata.SERVICE_NAMESPACE, Protos.str(s.namespace()))
                  .build()));
    }
    return Protos.list(vs.toArray(new Value[0]));
  }

  static CircuitBreakers defaultCircuitBreakers() {
    return CircuitBreakers.newBuilder().addThresholds(defaultThresholds()).build();
  }

  static CircuitBreakers.Thresholds.Builder defaultThresholds() {
    return CircuitBreakers.Thresholds.newBuilder()
        .setMaxConnections(Protos.u32(MAX))
        .setMaxPendingRequests(Protos.u32(MAX))
        .setMaxRequests(Protos.u32(MAX))
        .setMaxRetries(Protos.u32(MAX))
        .setTrackRemaining(true);
  }

  /**
   * Istio's applyLoadBalancer: LEAST_REQUEST by default; consistentHash selects RING_HASH or
   * MAGLEV.
   */
  static void applyLoadBalancer(Cluster.Builder c, LoadBalancerSettings lb) {
    c.setLbPolicy(Cluster.LbPolicy.LEAST_REQUEST);
    if (lb == null) {
      return;
    }
    applyLbPolicy(c, lb);
    String warmup =
        lb.getWarmup() != null && lb.getWarmup().getDuration() != null
            ? lb.getWarmup().getDuration()
            : lb.getWarmupDurationSecs();
    if (warmup != null) {
      // Istio's setSlowStartConfig, for the simple LEAST_REQUEST and ROUND_ROBIN balancers only.
      Cluster.SlowStartConfig slow =
          Cluster.SlowStartConfig.newBuilder().setSlowStartWindow(Protos.duration(warmup)).build();
      if (c.getLbPolicy() == Cluster.LbPolicy.LEAST_REQUEST) {
        c.setLeastRequestLbConfig(
            Cluster.LeastRequestLbConfig.newBuilder().setSlowStartConfig(slow));
      } else if (c.getLbPolicy() == Cluster.LbPolicy.ROUND_ROBIN) {
        c.setRoundRobinLbConfig(Cluster.RoundRobinLbConfig.newBuilder().setSlowStartConfig(slow));
      }
    }
  }

  private static void applyLbPolicy(Cluster.Builder c, LoadBalancerSettings lb) {
    if (lb.getLbPolicy() == null) {
      return;
    }
    if (lb.getLbPolicy() instanceof LoadBalancerSettingsSimple s && s.getSimple() != null) {
      LoadBalancerSettingsSimpleLB v = s.getSimple();
      if (v == LoadBalancerSettingsSimpleLB.ROUND_ROBIN) {
        c.setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN);
      } else if (v == LoadBalancerSettingsSimpleLB.RANDOM) {
        c.setLbPolicy(Cluster.LbPolicy.RANDOM);
      } else if (v == LoadBalancerSettingsSimpleLB.PASSTHROUGH) {
        c.setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED)
            .setType(Cluster.DiscoveryType.ORIGINAL_DST)
            .clearEdsClusterConfig()
            .clearLoadAssignment();
      }
    } else if (lb.getLbPolicy() instanceof LoadBalancerSettingsConsistentHash ch
        && ch.getConsistentHash() != null) {
      LoadBalancerSettingsConsistentHashLB h = ch.getConsistentHash();
      if (h.getHashAlgorithm() instanceof LoadBalancerSettingsConsistentHashLBMaglev m) {
        c.setLbPolicy(Cluster.LbPolicy.MAGLEV);
        if (m.getMaglev() != null
            && m.getMaglev().getTableSize() != null
            && m.getMaglev().getTableSize() > 0) {
          c.setMaglevLbConfig(
              Cluster.MaglevLbConfig.newBuilder()
                  .setTableSize(UInt64Value.of(m.getMaglev().getTableSize())));
        }
      } else {
        long ring =
            h.getMinimumRingSize() != null && h.getMinimumRingSize() > 0
                ? h.getMinimumRingSize()
                : 1024;
        c.setLbPolicy(Cluster.LbPolicy.RING_HASH)
            .setRingHashLbConfig(
                Cluster.RingHashLbConfig.newBuilder().setMinimumRingSize(UInt64Value.of(ring)));
      }
    }
  }

  /** Istio's applyConnectionPool: circuit breaker thresholds and HTTP protocol options. */
  static void applyConnectionPool(Cluster.Builder c, ConnectionPoolSettings cp, Protocol protocol) {
    CircuitBreakers.Thresholds.Builder th = defaultThresholds();
    HttpProtocolOptions.Builder common = HttpProtocolOptions.newBuilder();
    boolean hasCommon = false;
    if (cp != null) {
      var http = cp.getHttp();
      var tcp = cp.getTcp();
      if (http != null) {
        if (http.getHttp1MaxPendingRequests() != null && http.getHttp1MaxPendingRequests() > 0) {
          th.setMaxPendingRequests(Protos.u32(http.getHttp1MaxPendingRequests()));
        }
        if (http.getHttp2MaxRequests() != null && http.getHttp2MaxRequests() > 0) {
          th.setMaxRequests(Protos.u32(http.getHttp2MaxRequests()));
        }
        if (http.getMaxRetries() != null && http.getMaxRetries() > 0) {
          th.setMaxRetries(Protos.u32(http.getMaxRetries()));
        }
        if (http.getMaxRequestsPerConnection() != null && http.getMaxRequestsPerConnection() > 0) {
          common.setMaxRequestsPerConnection(Protos.u32(http.getMaxRequestsPerConnection()));
          hasCommon = true;
        }
        if (http.getIdleTimeout() != null) {
          common.setIdleTimeout(Protos.duration(http.getIdleTimeout()));
          hasCommon = true;
        }
      }
      if (tcp != null) {
        if (tcp.getMaxConnections() != null && tcp.getMaxConnections() > 0) {
          th.setMaxConnections(Protos.u32(tcp.getMaxConnections()));
        }
        if (tcp.getConnectTimeout() != null) {
          c.setConnectTimeout(Protos.duration(tcp.getConnectTimeout()));
        }
        // Istio's applyConnectionPool: tcp.idleTimeout when http.idleTimeout is not set.
        if (tcp.getIdleTimeout() != null && (http == null || http.getIdleTimeout() == null)) {
          common.setIdleTimeout(Protos.duration(tcp.getIdleTimeout()));
          hasCommon = true;
        }
        if (tcp.getMaxConnectionDuration() != null) {
          common.setMaxConnectionDuration(Protos.duration(tcp.getMaxConnectionDuration()));
          hasCommon = true;
        }
        if (tcp.getTcpKeepalive() != null) {
          var ka = tcp.getTcpKeepalive();
          TcpKeepalive.Builder k = TcpKeepalive.newBuilder();
          if (ka.getProbes() != null) {
            k.setKeepaliveProbes(Protos.u32(ka.getProbes()));
          }
          if (ka.getTime() != null) {
            k.setKeepaliveTime(Protos.u32(Protos.duration(ka.getTime()).getSeconds()));
          }
          if (ka.getInterval() != null) {
            k.setKeepaliveInterval(Protos.u32(Protos.duration(ka.getInterval()).getSeconds()));
          }
          c.setUpstreamConnectionOptions(UpstreamConnectionOptions.newBuilder().setTcpKeepalive(k));
        }
      }
    }
    c.setCircuitBreakers(CircuitBreakers.newBuilder().addThresholds(th));
    boolean h2 = protocol.isHttp2();
    boolean auto = protocol == Protocol.UNSUPPORTED;
    if (!(hasCommon || h2 || auto) || !protocol.isHttpOrSniffed()) {
      return;
    }
    var opts = Protos.upstreamHttpOptions();
    if (hasCommon) {
      opts.setCommonHttpProtocolOptions(common);
    }
    if (h2) {
      opts.setExplicitHttpConfig(
          ExplicitHttpConfig.newBuilder()
              .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()));
    } else if (auto) {
      opts.setUseDownstreamProtocolConfig(
          UseDownstreamHttpConfig.newBuilder()
              .setHttpProtocolOptions(Http1ProtocolOptions.getDefaultInstance())
              .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()));
    } else {
      opts.setExplicitHttpConfig(
          ExplicitHttpConfig.newBuilder()
              .setHttpProtocolOptions(Http1ProtocolOptions.getDefaultInstance()));
    }
    c.putTypedExtensionProtocolOptions(HTTP_PROTOCOL_OPTIONS, Protos.any(opts.build()));
  }

  /** Istio's applyOutlierDetection. */
  static void applyOutlierDetection(Cluster.Builder c, OutlierDetection od) {
    if (od == null) {
      return;
    }
    var out = c.getOutlierDetection().toBuilder();
    // success-rate based ejection is off in Istio
    out.setEnforcingSuccessRate(Protos.u32(0));
    Integer c5 = od.getConsecutive5xxErrors();
    if (c5 == null && od.getConsecutiveErrors() != null) {
      c5 = od.getConsecutiveErrors();
    }
    if (c5 != null) {
      out.setConsecutive5Xx(Protos.u32(c5));
      out.setEnforcingConsecutive5Xx(Protos.u32(c5 > 0 ? 100 : 0));
    }
    if (od.getConsecutiveGatewayErrors() != null) {
      int g = od.getConsecutiveGatewayErrors();
      out.setConsecutiveGatewayFailure(Protos.u32(g));
      out.setEnforcingConsecutiveGatewayFailure(Protos.u32(g > 0 ? 100 : 0));
    }
    if (od.getInterval() != null) {
      out.setInterval(Protos.duration(od.getInterval()));
    }
    if (od.getBaseEjectionTime() != null) {
      out.setBaseEjectionTime(Protos.duration(od.getBaseEjectionTime()));
    }
    if (od.getMaxEjectionPercent() != null && od.getMaxEjectionPercent() > 0) {
      out.setMaxEjectionPercent(Protos.u32(od.getMaxEjectionPercent()));
    }
    if (Boolean.TRUE.equals(od.getSplitExternalLocalOriginErrors())) {
      out.setSplitExternalLocalOriginErrors(true);
      if (od.getConsecutiveLocalOriginFailures() != null) {
        out.setConsecutiveLocalOriginFailure(Protos.u32(od.getConsecutiveLocalOriginFailures()));
        out.setEnforcingConsecutiveLocalOriginFailure(Protos.u32(100));
      }
    }
    c.setOutlierDetection(out);
    int minHealth = od.getMinHealthPercent() == null ? 0 : od.getMinHealthPercent();
    c.setCommonLbConfig(
        Cluster.CommonLbConfig.newBuilder()
            .setHealthyPanicThreshold(Percent.newBuilder().setValue(minHealth)));
  }

  /** The SDS name prefix of a root certificate read from a file by the agent (Istio's). */
  static final String FILE_ROOT = "file-root:";

  /** Istio's root for VERIFY_CERTIFICATE_AT_CLIENT: the OS trust store. */
  static final String SYSTEM_ROOT = "system";

  /**
   * DISABLE: plaintext; SIMPLE/MUTUAL: an UpstreamTlsContext as Istio's
   * buildUpstreamClusterTLSContext with VERIFY_CERTIFICATE_AT_CLIENT and ENABLE_AUTO_SNI (both on
   * since Istio 1.21): without caCertificates the root is "system" (the OS trust store), read
   * through SDS {@code file-root:<path>} with the subjectAltNames to match; insecureSkipVerify
   * gives an empty validation context (no verification). Without sni the cluster gets {@code
   * auto_sni}, and without sni, subjectAltNames or insecureSkipVerify also {@code
   * auto_san_validation}.
   */
  static void applyTls(Cluster.Builder c, ClientTLSSettings tls, Protocol protocol, String name) {
    if (tls == null || tls.getMode() == null || tls.getMode() == ClientTLSSettingsTLSmode.DISABLE) {
      return;
    }
    if (tls.getMode() == ClientTLSSettingsTLSmode.ISTIO_MUTUAL) {
      c.setTransportSocket(istioMutual(tls, name));
      return;
    }
    CommonTlsContext.Builder common = CommonTlsContext.newBuilder();
    boolean skipVerify = Boolean.TRUE.equals(tls.getInsecureSkipVerify());
    List<String> sans = tls.getSubjectAltNames() == null ? List.of() : tls.getSubjectAltNames();
    if (skipVerify) {
      common.setValidationContext(CertificateValidationContext.getDefaultInstance());
    } else {
      String ca =
          tls.getCaCertificates() == null || tls.getCaCertificates().isEmpty()
              ? SYSTEM_ROOT
              : tls.getCaCertificates();
      CertificateValidationContext.Builder v = CertificateValidationContext.newBuilder();
      for (String san : sans) {
        v.addMatchTypedSubjectAltNames(
            SubjectAltNameMatcher.newBuilder()
                .setSanType(SubjectAltNameMatcher.SanType.DNS)
                .setMatcher(StringMatcher.newBuilder().setExact(san)));
      }
      common.setCombinedValidationContext(
          CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
              .setDefaultValidationContext(v)
              .setValidationContextSdsSecretConfig(
                  SdsSecretConfig.newBuilder().setName(FILE_ROOT + ca).setSdsConfig(Protos.ads())));
    }
    if (tls.getMode() == ClientTLSSettingsTLSmode.MUTUAL && tls.getClientCertificate() != null) {
      common.addTlsCertificates(
          TlsCertificate.newBuilder()
              .setCertificateChain(DataSource.newBuilder().setFilename(tls.getClientCertificate()))
              .setPrivateKey(
                  DataSource.newBuilder()
                      .setFilename(tls.getPrivateKey() == null ? "" : tls.getPrivateKey())));
    }
    UpstreamTlsContext.Builder ctx = UpstreamTlsContext.newBuilder().setCommonTlsContext(common);
    boolean noSni = tls.getSni() == null || tls.getSni().isEmpty();
    if (!noSni) {
      ctx.setSni(tls.getSni());
    }
    c.setTransportSocket(
        TransportSocket.newBuilder().setName(TLS_SOCKET).setTypedConfig(Protos.any(ctx.build())));
    boolean autoSan = noSni && sans.isEmpty() && !skipVerify;
    if (noSni && protocol.isHttpOrSniffed()) {
      setAutoSni(c, autoSan);
    }
  }

  /** Istio's ALPN for mesh mTLS with metadata exchange (util.ALPNInMeshWithMxc). */
  static final List<String> ISTIO_ALPN = List.of("istio-peer-exchange", "istio");

  /**
   * ISTIO_MUTUAL as Istio's buildIstioMutualTLS: the workload certificate (SDS {@code default})
   * presented, the peer verified against SDS {@code ROOTCA} and, when the DestinationRule lists
   * subjectAltNames, matched against them; SNI {@code outbound_.PORT_.SUBSET_.HOST} (or the rule's
   * sni); ALPN {@code istio-peer-exchange}, {@code istio}.
   */
  static TransportSocket istioMutual(ClientTLSSettings tls, String clusterName) {
    CertificateValidationContext.Builder v = CertificateValidationContext.newBuilder();
    if (tls.getSubjectAltNames() != null) {
      for (String san : tls.getSubjectAltNames()) {
        v.addMatchSubjectAltNames(StringMatcher.newBuilder().setExact(san));
      }
    }
    CommonTlsContext.Builder common =
        CommonTlsContext.newBuilder()
            .addAllAlpnProtocols(ISTIO_ALPN)
            .addTlsCertificateSdsSecretConfigs(
                SdsSecretConfig.newBuilder()
                    .setName(IstioCertificates.SECRET_DEFAULT)
                    .setSdsConfig(Protos.ads()))
            .setCombinedValidationContext(
                CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                    .setDefaultValidationContext(v)
                    .setValidationContextSdsSecretConfig(
                        SdsSecretConfig.newBuilder()
                            .setName(IstioCertificates.SECRET_ROOTCA)
                            .setSdsConfig(Protos.ads())));
    // Istio's BuildDNSSrvSubsetKey: outbound_.8080_.v1_.host
    String sni =
        tls.getSni() == null || tls.getSni().isEmpty()
            ? clusterName.replace("|", "_.")
            : tls.getSni();
    UpstreamTlsContext ctx =
        UpstreamTlsContext.newBuilder().setCommonTlsContext(common).setSni(sni).build();
    return TransportSocket.newBuilder().setName(TLS_SOCKET).setTypedConfig(Protos.any(ctx)).build();
  }

  /**
   * Istio's setAutoSniAndAutoSanValidation: {@code upstream_http_protocol_options.auto_sni} (and
   * {@code auto_san_validation}) on the cluster's HttpProtocolOptions (created for HTTP/1.1 when
   * the cluster has none); only HTTP clusters get them (the SNI comes from the request's host).
   */
  private static void setAutoSni(Cluster.Builder c, boolean autoSan) {
    Any any = c.getTypedExtensionProtocolOptionsMap().get(HTTP_PROTOCOL_OPTIONS);
    var opts =
        any != null
            ? Protos.upstreamHttpOptions(any)
            : Protos.upstreamHttpOptions()
                .setExplicitHttpConfig(
                    ExplicitHttpConfig.newBuilder()
                        .setHttpProtocolOptions(Http1ProtocolOptions.getDefaultInstance()));
    UpstreamHttpProtocolOptions.Builder up =
        opts.getUpstreamHttpProtocolOptions().toBuilder().setAutoSni(true);
    if (autoSan) {
      up.setAutoSanValidation(true);
    }
    opts.setUpstreamHttpProtocolOptions(up);
    c.putTypedExtensionProtocolOptions(HTTP_PROTOCOL_OPTIONS, Protos.any(opts.build()));
  }

  static Cluster blackHole() {
    return Cluster.newBuilder()
        .setName(ClusterNames.BLACK_HOLE)
        .setType(Cluster.DiscoveryType.STATIC)
        .setConnectTimeout(CONNECT_TIMEOUT)
        .build();
  }

  static Cluster passthrough() {
    return Cluster.newBuilder()
        .setName(ClusterNames.PASSTHROUGH)
        .setType(Cluster.DiscoveryType.ORIGINAL_DST)
        .setConnectTimeout(CONNECT_TIMEOUT)
        .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED)
        .setCircuitBreakers(defaultCircuitBreakers())
        .putTypedExtensionProtocolOptions(
            HTTP_PROTOCOL_OPTIONS,
            Protos.any(
                Protos.upstreamHttpOptions()
                    .setUseDownstreamProtocolConfig(
                        UseDownstreamHttpConfig.newBuilder()
                            .setHttpProtocolOptions(Http1ProtocolOptions.getDefaultInstance())
                            .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
                    .build()))
        .build();
  }

  static Cluster inboundPassthrough() {
    return Cluster.newBuilder()
        .setName(ClusterNames.INBOUND_PASSTHROUGH)
        .setType(Cluster.DiscoveryType.ORIGINAL_DST)
        .setConnectTimeout(CONNECT_TIMEOUT)
        .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED)
        .setCircuitBreakers(defaultCircuitBreakers())
        .setUpstreamBindConfig(
            BindConfig.newBuilder()
                .setSourceAddress(
                    SocketAddress.newBuilder().setAddress("127.0.0.6").setPortValue(0)))
        .build();
  }
}
