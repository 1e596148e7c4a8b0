package io.shopmesh.mesh.proxy.rbac;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC;

/**
 * {@code envoy.filters.network.rbac} on a filter chain: evaluated once per connection, before the
 * chain's terminal filter (tcp_proxy or the HTTP connection manager), each RBAC filter in order; a
 * denied connection is closed. Shadow rules do not decide.
 */
public final class NetworkRbac {

  public static final String NAME = "envoy.filters.network.rbac";

  private NetworkRbac() {}

  /** The connection as TCP rules see it (no request: header and path rules do not match). */
  public record Connection(
      String destinationIp, int destinationPort, String remoteIp, String principal, String sni)
      implements RbacEngine.Request {

    @Override
    public String header(String lowerCaseName) {
      return null;
    }

    @Override
    public String urlPath() {
      return null;
    }

    @Override
    public String directRemoteIp() {
      return remoteIp;
    }

    @Override
    public String requestedServerName() {
      return sni == null ? "" : sni;
    }
  }

  /** The first denial of the chain's RBAC filters, or null when the connection may proceed. */
  public static RbacEngine.Decision check(FilterChain fc, Connection c) {
    for (Filter f : fc.getFiltersList()) {
      if (!f.getName().equals(NAME)) {
        continue;
      }
      RBAC rbac;
      try {
        rbac = f.getTypedConfig().unpack(RBAC.class);
      } catch (InvalidProtocolBufferException e) {
        return new RbacEngine.Decision(false, null);
      }
      if (!rbac.hasRules()) {
        continue;
      }
      RbacEngine.Decision d = new RbacEngine(rbac.getRules()).evaluate(c);
      if (!d.allowed()) {
        return d;
      }
    }
    return null;
  }
}
