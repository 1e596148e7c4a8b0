package io.shopmesh.mesh.proxy.listener;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.shopmesh.mesh.proxy.http.Direction;
import io.shopmesh.mesh.proxy.rbac.NetworkRbac;
import io.shopmesh.mesh.proxy.rbac.RbacEngine;
import io.shopmesh.mesh.proxy.stats.AccessLog;
import io.shopmesh.mesh.proxy.stats.ResponseFlags;
import io.shopmesh.mesh.proxy.tcp.TcpProxyFilter;
import io.shopmesh.mesh.proxy.xds.XdsState;
import io.shopmesh.mesh.wire.Wellknown;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A listener that takes raw connections, as Envoy's active TCP listener: runs the listener filters
 * ({@code tls_inspector}, {@code http_inspector}) on the first bytes without consuming them, within
 * {@code listener_filters_timeout} (Envoy's default 15 s; on expiry the connection is closed unless
 * {@code continue_on_listener_filters_timeout}), selects the filter chain with {@link
 * FilterChainMatcher}, and hands the connection to the chain's network filter: {@code tcp_proxy} to
 * {@link TcpProxyFilter}; an HTTP connection manager to this proxy's HTTP path (an internal HTTP
 * server on loopback that reads the real addresses from a PROXY protocol header, so the connection
 * manager sees the client as Envoy's would, and terminates TLS there when the chain does). No
 * matching chain and no default chain: the connection is closed, as Envoy's {@code
 * no_filter_chain_match}.
 */
public final class ConnectionDispatcher {
  public static final String HTTP_INSPECTOR = "envoy.filters.listener.http_inspector";

  /** Envoy's default listener_filters_timeout. */
  static final long DEFAULT_LISTENER_FILTERS_TIMEOUT_MS = 15_000;

  private final Vertx vertx;
  private final Supplier<Listener> listener;
  private final Direction direction;
  private final TcpProxyFilter tcp;
  private final AccessLog accessLog;
  private final NetClient loopback;
  private volatile int httpPort = -1;
  private Function<NetSocket, String> originalDst;
  private Function<String, Listener> listenerFor;

  public ConnectionDispatcher(
      Vertx vertx,
      Supplier<Listener> listener,
      Direction direction,
      TcpProxyFilter tcp,
      AccessLog accessLog,
      NetClient loopback) {
    this.vertx = vertx;
    this.listener = listener;
    this.direction = direction;
    this.tcp = tcp;
    this.accessLog = accessLog;
    this.loopback = loopback;
  }

  /** The loopback port of the internal HTTP server for this listener's HCM chains (-1: none). */
  public void httpPort(int port) {
    this.httpPort = port;
  }

  /**
   * {@code use_original_dst}: the connection's original destination ({@code ip:port}, or null) and
   * the listener that takes a connection to it (given null when there is none).
   */
  public ConnectionDispatcher useOriginalDst(
      Function<NetSocket, String> originalDst, Function<String, Listener> listenerFor) {
    this.originalDst = originalDst;
    this.listenerFor = listenerFor;
    return this;
  }

  /** Whether a listener needs raw connection handling: any chain that is not an HTTP manager. */
  public static boolean needsRawListener(Listener l) {
    for (FilterChain fc : l.getFilterChainsList()) {
      if (XdsState.hcm(fc) == null) {
        return true;
      }
    }
    return l.hasDefaultFilterChain() && XdsState.hcm(l.getDefaultFilterChain()) == null;
  }

  /** A new connection: peek, select, hand over. */
  public void accept(NetSocket so) {
    String od = originalDst == null ? null : originalDst.apply(so);
    Listener l = listenerFor == null ? listener.get() : listenerFor.apply(od);
    if (l == null) {
      so.close();
      return;
    }
    Listener chosen = l;
    boolean tlsInspector = hasFilter(chosen, Wellknown.TLS_INSPECTOR);
    boolean httpInspector = hasFilter(chosen, HTTP_INSPECTOR);
    Buffer acc = Buffer.buffer();
    if (!tlsInspector && !httpInspector) {
      so.pause();
      dispatch(so, chosen, acc, "", FilterChainMatcher.RAW_BUFFER, List.of(), od);
      return;
    }
    long timeoutMs =
        chosen.hasListenerFiltersTimeout()
            ? chosen.getListenerFiltersTimeout().getSeconds() * 1000
                + chosen.getListenerFiltersTimeout().getNanos() / 1_000_000
            : DEFAULT_LISTENER_FILTERS_TIMEOUT_MS;
    boolean[] decided = {false};
    long timer =
        timeoutMs <= 0
            ? -1
            : vertx.setTimer(
                timeoutMs,
                id -> {
                  if (decided[0]) {
                    return;
                  }
                  decided[0] = true;
                  so.pause();
                  if (chosen.getContinueOnListenerFiltersTimeout()) {
                    dispatch(so, chosen, acc, "", FilterChainMatcher.RAW_BUFFER, List.of(), od);
                  } else {
                    so.close();
                  }
                });
    so.closeHandler(v -> decided[0] = true);
    so.handler(
        buf -> {
          if (decided[0]) {
            return;
          }
          acc.appendBuffer(buf);
          byte[] bytes = acc.getBytes();
          String sni = "";
          String transport = FilterChainMatcher.RAW_BUFFER;
          List<String> alpn = List.of();
          if (tlsInspector) {
            TlsInspector.Result r = TlsInspector.inspect(bytes, bytes.length);
            switch (r.state()) {
              case NEED_MORE -> {
                return;
              }
              case ERROR -> {
                decided[0] = true;
                vertx.cancelTimer(timer);
                so.close();
                return;
              }
              case TLS -> {
                sni = r.serverName();
                transport = FilterChainMatcher.TLS;
                alpn = r.alpn();
              }
              default -> {}
            }
          }
          if (httpInspector && FilterChainMatcher.RAW_BUFFER.equals(transport)) {
            List<String> p = HttpInspector.inspect(bytes, bytes.length);
            if (p == null) {
              return;
            }
            alpn = p;
          }
          decided[0] = true;
          vertx.cancelTimer(timer);
          so.pause();
          so.handler(null);
          dispatch(so, chosen, acc, sni, transport, alpn, od);
        });
  }

  private void dispatch(
      NetSocket so,
      Listener l,
      Buffer initial,
      String sni,
      String transport,
      List<String> alpn,
      String od) {
    SocketAddress local = so.localAddress();
    String accepted = local == null ? "-" : host(local) + ":" + local.port();
    if (od != null) {
      int colon = od.lastIndexOf(':');
      local =
          SocketAddress.inetSocketAddress(
              Integer.parseInt(od.substring(colon + 1)), od.substring(0, colon));
    }
    SocketAddress remote = so.remoteAddress();
    String localIp = local == null ? "" : host(local);
    int localPort = local == null ? 0 : local.port();
    String remoteIp = remote == null ? "" : host(remote);
    int remotePort = remote == null ? 0 : remote.port();
    FilterChainMatcher.Connection c =
        new FilterChainMatcher.Connection(
            localIp, localPort, remoteIp, remotePort, sni, transport, alpn);
    FilterChain fc = FilterChainMatcher.select(l, c);
    String localStr = localIp + ":" + localPort;
    String remoteStr = remoteIp + ":" + remotePort;
    if (fc == null) {
      logClosed(localStr, remoteStr, sni, "filter_chain_not_found");
      so.close();
      return;
    }
    RbacEngine.Decision denied =
        NetworkRbac.check(fc, new NetworkRbac.Connection(localIp, localPort, remoteIp, null, sni));
    if (denied != null) {
      logClosed(localStr, remoteStr, sni, denied.details(), 0);
      so.close();
      return;
    }
    if (XdsState.hcm(fc) != null) {
      toHttp(so, initial, localIp, localPort, remoteIp, remotePort);
      return;
    }
    TcpProxy cfg = tcpProxy(fc);
    if (cfg == null) {
      logClosed(localStr, remoteStr, sni, "no_network_filter");
      so.close();
      return;
    }
    tcp.handle(
        new TcpProxyFilter.Downstream(
            so, initial, accepted, od == null ? null : localStr, remoteStr, sni, direction),
        cfg);
  }

  /** Hands the connection to the internal HTTP server, with a PROXY v1 header of its addresses. */
  private void toHttp(
      NetSocket so,
      Buffer initial,
      String localIp,
      int localPort,
      String remoteIp,
      int remotePort) {
    int port = httpPort;
    if (port <= 0) {
      so.close();
      return;
    }
    loopback
        .connect(port, "127.0.0.1")
        .onComplete(
            ar -> {
              if (ar.failed()) {
                so.close();
                return;
              }
              NetSocket in = ar.result();
              boolean v6 = remoteIp.contains(":");
              String header =
                  "PROXY "
                      + (v6 ? "TCP6 " : "TCP4 ")
                      + remoteIp
                      + " "
                      + localIp
                      + " "
                      + remotePort
                      + " "
                      + localPort
                      + "\r\n";
              in.write(Buffer.buffer(header.getBytes(StandardCharsets.US_ASCII)));
              if (initial.length() > 0) {
                in.write(initial);
              }
              pipe(so, in);
              pipe(in, so);
              so.closeHandler(v -> in.close());
              in.closeHandler(v -> so.close());
              so.resume();
            });
  }

  private static void pipe(NetSocket from, NetSocket to) {
    from.handler(
        buf -> {
          to.write(buf);
          if (to.writeQueueFull()) {
            from.pause();
            to.drainHandler(v -> from.resume());
          }
        });
  }

  private void logClosed(String local, String remote, String sni, String details) {
    logClosed(local, remote, sni, details, ResponseFlags.NR);
  }

  private void logClosed(String local, String remote, String sni, String details, int flags) {
    if (!accessLog.enabled()) {
      return;
    }
    AccessLog.Entry e = new AccessLog.Entry();
    e.start = Instant.now();
    e.method = "-";
    e.path = "-";
    e.protocol = "-";
    e.status = 0;
    e.flags = flags;
    e.details = details;
    e.downstreamLocal = local;
    e.downstreamRemote = remote;
    e.serverName = sni == null || sni.isEmpty() ? "-" : sni;
    accessLog.log(e);
  }

  private static String host(SocketAddress a) {
    String h = a.hostAddress();
    return h == null ? a.host() : h;
  }

  static boolean hasFilter(Listener l, String name) {
    for (ListenerFilter f : l.getListenerFiltersList()) {
      if (f.getName().equals(name)) {
        return true;
      }
    }
    return false;
  }

  /** The tcp_proxy config of a chain, or null. */
  public static TcpProxy tcpProxy(FilterChain fc) {
    for (Filter f : fc.getFiltersList()) {
      if (f.getName().equals(Wellknown.TCP_PROXY)
          || f.getTypedConfig().getTypeUrl().endsWith(".TcpProxy")) {
        try {
          return f.getTypedConfig().unpack(TcpProxy.class);
        } catch (InvalidProtocolBufferException e) {
          return null;
        }
      }
    }
    return null;
  }
}
