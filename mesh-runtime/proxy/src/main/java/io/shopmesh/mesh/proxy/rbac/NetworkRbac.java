package io.shopmesh.mesh.proxy.rbac;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code envoy.filters.network.rbac} on a filter chain: evaluated once per connection, before the
 * chain's terminal filter (tcp_proxy or the HTTP connection manager), each RBAC filter in order; a
 * denied connection is closed. Shadow rules do not decide.
 */
public final class NetworkRbac {

  public static final String NAME = "envoy.filters.network.rbac";

  /** Engines by filter config, so a connection does not recompile the rules (regexes). */
  private static final Map<ByteString, RbacEngine> ENGINES = new ConcurrentHashMap<>();

  private static final int MAX_ENGINES = 256;
  private static final RbacEngine NO_RULES = RbacEngine.allowingAll();
  private static final RbacEngine.Decision DENIED = new RbacEngine.Decision(false, null);

  private NetworkRbac() {}

  /** The filter's rules, NO_RULES without any, null for a config that cannot be read (deny). */
  private static RbacEngine engine(Filter f) {
    ByteString key = f.getTypedConfig().getValue();
    RbacEngine e = ENGINES.get(key);
    if (e != null) {
      return e;
    }
    RBAC rbac;
    try {
      rbac = f.getTypedConfig().unpack(RBAC.class);
    } catch (InvalidProtocolBufferException ex) {
      return null;
    }
    e = rbac.hasRules() ? new RbacEngine(rbac.getRules()) : NO_RULES;
    if (ENGINES.size() >= MAX_ENGINES) {
      ENGINES.clear();
    }
    ENGINES.put(key, e);
    return e;
  }

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
      RbacEngine engine = engine(f);
      if (engine == NO_RULES) {
        continue;
      }
      RbacEngine.Decision d = engine == null ? DENIED : engine.evaluate(c);
      if (!d.allowed()) {
        return d;
      }
    }
    return null;
  }
}
