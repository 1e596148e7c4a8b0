package io.shopmesh.mesh.xds;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.http_inspector.v3.HttpInspector;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.util.List;

/**
 * Envoy JSON (protobuf JSON format) for the resources, with every Any type this mesh emits
 * registered.
 */
public final class EnvoyJson {

  public static final JsonFormat.TypeRegistry TYPES =
      JsonFormat.TypeRegistry.newBuilder()
          .add(
              List.of(
                  Listener.getDescriptor(),
                  RouteConfiguration.getDescriptor(),
                  Cluster.getDescriptor(),
                  ClusterLoadAssignment.getDescriptor(),
                  HttpConnectionManager.getDescriptor(),
                  TcpProxy.getDescriptor(),
                  Router.getDescriptor(),
                  HTTPFault.getDescriptor(),
                  Cors.getDescriptor(),
                  CorsPolicy.getDescriptor(),
                  OriginalDst.getDescriptor(),
                  TlsInspector.getDescriptor(),
                  HttpInspector.getDescriptor(),
                  PreviousHostsPredicate.getDescriptor(),
                  UpstreamTlsContext.getDescriptor(),
                  DownstreamTlsContext.getDescriptor(),
                  HttpProtocolOptions.getDescriptor()))
          .build();

  private static final JsonFormat.Printer PRINTER = JsonFormat.printer().usingTypeRegistry(TYPES);
  private static final JsonFormat.Parser PARSER = JsonFormat.parser().usingTypeRegistry(TYPES);

  private EnvoyJson() {}

  public static String print(Message m) {
    try {
      return PRINTER.print(m);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  public static <B extends Message.Builder> B parse(String json, B builder) {
    try {
      PARSER.merge(json, builder);
      return builder;
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException(e);
    }
  }

  /** A JSON array of the messages, one per element, pretty-printed. */
  public static String printAll(List<? extends Message> ms) {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < ms.size(); i++) {
      sb.append(i == 0 ? "\n" : ",\n").append(print(ms.get(i)).indent(2).stripTrailing());
    }
    return sb.append(ms.isEmpty() ? "]" : "\n]").append('\n').toString();
  }
}
