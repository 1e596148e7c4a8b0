package io.shopmesh.mesh.proxy.admin;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.admin.v3.BootstrapConfigDump;
import io.envoyproxy.envoy.admin.v3.ClustersConfigDump;
import io.envoyproxy.envoy.admin.v3.ConfigDump;
import io.envoyproxy.envoy.admin.v3.EndpointsConfigDump;
import io.envoyproxy.envoy.admin.v3.ListenersConfigDump;
import io.envoyproxy.envoy.admin.v3.RoutesConfigDump;
import io.envoyproxy.envoy.admin.v3.SecretsConfigDump;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.shopmesh.mesh.proxy.NodeInfo;
import io.shopmesh.mesh.proxy.sds.WorkloadSecrets;
import io.shopmesh.mesh.proxy.xds.XdsState;
import io.shopmesh.mesh.wire.IstioCertificates;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.function.Supplier;

/** Envoy's /config_dump: a ConfigDump of Bootstrap, Clusters, Listeners, Routes (and Endpoints). */
public final class ConfigDumper {
  private static final List<String> TYPES =
      List.of(
          "io.envoyproxy.envoy.admin.v3.ConfigDump",
          "io.envoyproxy.envoy.admin.v3.BootstrapConfigDump",
          "io.envoyproxy.envoy.admin.v3.ClustersConfigDump",
          "io.envoyproxy.envoy.admin.v3.ListenersConfigDump",
          "io.envoyproxy.envoy.admin.v3.RoutesConfigDump",
          "io.envoyproxy.envoy.admin.v3.EndpointsConfigDump",
          "io.envoyproxy.envoy.admin.v3.SecretsConfigDump",
          "io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret",
          "io.envoyproxy.envoy.config.cluster.v3.Cluster",
          "io.envoyproxy.envoy.config.listener.v3.Listener",
          "io.envoyproxy.envoy.config.route.v3.RouteConfiguration",
          "io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment",
          "io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
          "io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
          "io.envoyproxy.envoy.extensions.filters.http.router.v3.Router",
          "io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault",
          "io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors",
          "io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy",
          "io.envoyproxy.envoy.extensions.filters.http.grpc_stats.v3.FilterConfig",
          "io.envoyproxy.envoy.extensions.filters.http.wasm.v3.Wasm",
          "io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC",
          "io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC",
          "io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig",
          "io.envoyproxy.envoy.extensions.filters.http.lua.v3.Lua",
          "io.envoyproxy.envoy.extensions.filters.http.compressor.v3.Compressor",
          "io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst",
          "io.envoyproxy.envoy.extensions.filters.listener.http_inspector.v3.HttpInspector",
          "io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector",
          "io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog",
          "io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
          "io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StderrAccessLog",
          "io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
          "io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
          "io.envoyproxy.envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer",
          "io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
          "io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate",
          "com.github.xds.type.v3.TypedStruct",
          "com.github.udpa.udpa.type.v1.TypedStruct",
          "com.google.protobuf.Struct");

  private static final JsonFormat.TypeRegistry REGISTRY = registry();
  private final XdsState state;
  private final NodeInfo node;
  private final Supplier<WorkloadSecrets> secrets;

  public ConfigDumper(XdsState state, NodeInfo node) {
    this(state, node, () -> null);
  }

  /**
   * @param secrets the workload's SDS secrets, dumped as Envoy's SecretsConfigDump
   */
  public ConfigDumper(XdsState state, NodeInfo node, Supplier<WorkloadSecrets> secrets) {
    this.state = state;
    this.node = node;
    this.secrets = secrets;
  }

  /**
   * Envoy's SecretsConfigDump: {@code default} (chain, the key shown as Envoy does, redacted) and
   * {@code ROOTCA}, as {@code istioctl proxy-config secret} reads them.
   */
  private SecretsConfigDump secretsDump() {
    SecretsConfigDump.Builder b = SecretsConfigDump.newBuilder();
    WorkloadSecrets ws = secrets.get();
    WorkloadSecrets.Secret s = ws == null ? null : ws.current();
    if (s == null) {
      return b.build();
    }
    StringBuilder chain = new StringBuilder();
    s.chain().forEach(c -> chain.append(pem(c)));
    Timestamp issued = ts(s.issued());
    b.addDynamicActiveSecrets(
        SecretsConfigDump.DynamicSecret.newBuilder()
            .setName(IstioCertificates.SECRET_DEFAULT)
            .setVersionInfo(s.leaf().getSerialNumber().toString(16))
            .setLastUpdated(issued)
            .setSecret(
                Any.pack(
                    Secret.newBuilder()
                        .setName(IstioCertificates.SECRET_DEFAULT)
                        .setTlsCertificate(
                            TlsCertificate.newBuilder()
                                .setCertificateChain(
                                    DataSource.newBuilder()
                                        .setInlineBytes(ByteString.copyFromUtf8(chain.toString())))
                                .setPrivateKey(
                                    DataSource.newBuilder()
                                        .setInlineBytes(ByteString.copyFromUtf8("[redacted]"))))
                        .build())));
    b.addDynamicActiveSecrets(
        SecretsConfigDump.DynamicSecret.newBuilder()
            .setName(IstioCertificates.SECRET_ROOTCA)
            .setVersionInfo(s.root().getSerialNumber().toString(16))
            .setLastUpdated(issued)
            .setSecret(
                Any.pack(
                    Secret.newBuilder()
                        .setName(IstioCertificates.SECRET_ROOTCA)
                        .setValidationContext(
                            CertificateValidationContext.newBuilder()
                                .setTrustedCa(
                                    DataSource.newBuilder()
                                        .setInlineBytes(ByteString.copyFromUtf8(pem(s.root())))))
                        .build())));
    return b.build();
  }

  private static String pem(X509Certificate c) {
    try {
      return "-----BEGIN CERTIFICATE-----\n"
          + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(c.getEncoded())
          + "\n-----END CERTIFICATE-----\n";
    } catch (CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonFormat.TypeRegistry registry() {
    JsonFormat.TypeRegistry.Builder b = JsonFormat.TypeRegistry.newBuilder();
    for (String cn : TYPES) {
      try {
        Class<?> c = Class.forName(cn);
        Descriptors.Descriptor d =
            (Descriptors.Descriptor) c.getMethod("getDescriptor").invoke(null);
        b.add(d);
      } catch (ReflectiveOperationException | LinkageError e) {
        // type not on the classpath: skip
      }
    }
    return b.build();
  }

  public static JsonFormat.Printer printer() {
    return JsonFormat.printer().usingTypeRegistry(REGISTRY).preservingProtoFieldNames();
  }

  public ConfigDump dump(boolean includeEds) {
    ConfigDump.Builder cd = ConfigDump.newBuilder();
    cd.addConfigs(
        Any.pack(
            BootstrapConfigDump.newBuilder()
                .setBootstrap(Bootstrap.newBuilder().setNode(node.node()))
                .setLastUpdated(ts(Instant.now()))
                .build()));
    ClustersConfigDump.Builder cl = ClustersConfigDump.newBuilder();
    String cdsVersion = "";
    for (XdsState.Versioned<Cluster> v : state.clusters().values()) {
      cl.addDynamicActiveClusters(
          ClustersConfigDump.DynamicCluster.newBuilder()
              .setVersionInfo(v.version())
              .setCluster(Any.pack(v.resource()))
              .setLastUpdated(ts(v.lastUpdated())));
      cdsVersion = v.version();
    }
    cl.setVersionInfo(cdsVersion);
    cd.addConfigs(Any.pack(cl.build()));
    ListenersConfigDump.Builder ls = ListenersConfigDump.newBuilder();
    String ldsVersion = "";
    for (XdsState.Versioned<Listener> v : state.listeners().values()) {
      ls.addDynamicListeners(
          ListenersConfigDump.DynamicListener.newBuilder()
              .setName(v.resource().getName())
              .setActiveState(
                  ListenersConfigDump.DynamicListenerState.newBuilder()
                      .setVersionInfo(v.version())
                      .setListener(Any.pack(v.resource()))
                      .setLastUpdated(ts(v.lastUpdated()))));
      ldsVersion = v.version();
    }
    ls.setVersionInfo(ldsVersion);
    cd.addConfigs(Any.pack(ls.build()));
    RoutesConfigDump.Builder rs = RoutesConfigDump.newBuilder();
    for (XdsState.Versioned<RouteConfiguration> v : state.routes().values()) {
      rs.addDynamicRouteConfigs(
          RoutesConfigDump.DynamicRouteConfig.newBuilder()
              .setVersionInfo(v.version())
              .setRouteConfig(Any.pack(v.resource()))
              .setLastUpdated(ts(v.lastUpdated())));
    }
    cd.addConfigs(Any.pack(rs.build()));
    if (includeEds) {
      EndpointsConfigDump.Builder es = EndpointsConfigDump.newBuilder();
      for (XdsState.Versioned<ClusterLoadAssignment> v : state.endpoints().values()) {
        es.addDynamicEndpointConfigs(
            EndpointsConfigDump.DynamicEndpointConfig.newBuilder()
                .setVersionInfo(v.version())
                .setEndpointConfig(Any.pack(v.resource()))
                .setLastUpdated(ts(v.lastUpdated())));
      }
      cd.addConfigs(Any.pack(es.build()));
    }
    cd.addConfigs(Any.pack(secretsDump()));
    return cd.build();
  }

  public String json(boolean includeEds) {
    try {
      return printer().print(dump(includeEds));
    } catch (InvalidProtocolBufferException e) {
      // An Any of a type we do not know: print what we can without the registry's help.
      return "{\"error\":\"" + e.getMessage().replace("\"", "'") + "\"}";
    }
  }

  static Timestamp ts(Instant i) {
    return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
  }

  static String print(Message m) throws InvalidProtocolBufferException {
    return printer().print(m);
  }
}
