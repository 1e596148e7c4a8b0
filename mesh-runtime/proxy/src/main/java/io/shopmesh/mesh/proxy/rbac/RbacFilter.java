package io.shopmesh.mesh.proxy.rbac;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.shopmesh.mesh.proxy.http.Direction;
import io.shopmesh.mesh.proxy.http.HttpConnectionManager;
import io.shopmesh.mesh.proxy.http.HttpFilter;
import io.shopmesh.mesh.proxy.http.HttpStream;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * {@code envoy.filters.http.rbac}: the rules decide (a denied request gets 403 {@code RBAC: access
 * denied}, response code details {@code rbac_access_denied_matched_policy[...]}), the shadow rules
 * are evaluated and only logged. Without rules every request passes.
 */
public final class RbacFilter implements HttpFilter {

  public static final String NAME = "envoy.filters.http.rbac";
  private static final Logger LOG = Logger.getLogger(RbacFilter.class.getName());

  /** The compiled filter config, shared by the filter instances of one HCM. */
  public record Config(
      RbacEngine rules, RbacEngine shadow, String shadowPrefix, Consumer<String> counter) {

    /** Envoy's counters: {@code <prefix>rbac.allowed|denied|<shadow prefix>shadow_...}. */
    void count(String stat) {
      if (counter != null) {
        counter.accept(stat);
      }
    }

    /** The config of one filter; its counters go to {@code counter} under {@code prefix}. */
    public static Config of(Any typedConfig, String prefix, Consumer<String> counter) {
      Config c = of(typedConfig);
      return new Config(
          c.rules(),
          c.shadow(),
          c.shadowPrefix(),
          counter == null ? null : stat -> counter.accept(prefix + "rbac." + stat));
    }

    public static Config of(Any typedConfig) {
      RBAC rbac;
      try {
        rbac = typedConfig.unpack(RBAC.class);
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalArgumentException("bad " + NAME + " config: " + e.getMessage());
      }
      return new Config(
          rbac.hasRules() ? new RbacEngine(rbac.getRules()) : null,
          rbac.hasShadowRules() ? new RbacEngine(rbac.getShadowRules()) : null,
          rbac.getShadowRulesStatPrefix(),
          null);
    }
  }

  private final Config config;

  public RbacFilter(Config config) {
    this.config = config;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Status decodeHeaders(HttpStream s) {
    RbacEngine.Request r = new HttpRequest(s);
    if (config.shadow() != null) {
      RbacEngine.Decision d = config.shadow().evaluate(r);
      config.count(config.shadowPrefix() + (d.allowed() ? "shadow_allowed" : "shadow_denied"));
      LOG.log(
          Level.FINE,
          "shadow {0}{1} for {2} (policy {3})",
          new Object[] {
            config.shadowPrefix(), d.allowed() ? "allowed" : "denied", r.urlPath(), d.policy()
          });
    }
    if (config.rules() == null) {
      return Status.CONTINUE;
    }
    RbacEngine.Decision d = config.rules().evaluate(r);
    config.count(d.allowed() ? "allowed" : "denied");
    if (d.allowed()) {
      return Status.CONTINUE;
    }
    s.sendLocalReply(403, "RBAC: access denied", d.details());
    return Status.STOP;
  }

  /** The request and its downstream connection, as the RBAC rules see them. */
  static final class HttpRequest implements RbacEngine.Request {
    private final HttpStream s;
    private final HttpServerRequest req;

    HttpRequest(HttpStream s) {
      this.s = s;
      this.req = s.request();
    }

    @Override
    public String header(String name) {
      switch (name) {
        case ":method":
          return req.method().name();
        case ":path":
          return s.target().pathAndQuery();
        case ":authority":
        case "host":
          return s.target().authority();
        case ":scheme":
          return req.isSSL() ? "https" : "http";
        default:
          List<String> all = req.headers().getAll(name);
          return all.isEmpty() ? null : String.join(",", all);
      }
    }

    @Override
    public String urlPath() {
      return s.target().path();
    }

    @Override
    public String destinationIp() {
      return host(req.localAddress());
    }

    @Override
    public int destinationPort() {
      if (s.direction() == Direction.INBOUND) {
        return HttpConnectionManager.inboundPort(s);
      }
      // the listener's port (a gateway listener may be bound elsewhere locally)
      return s.binding() != null ? s.binding().port() : 0;
    }

    @Override
    public String directRemoteIp() {
      return host(req.remoteAddress());
    }

    @Override
    public String remoteIp() {
      return directRemoteIp();
    }

    @Override
    public String principal() {
      if (!req.isSSL()) {
        return null;
      }
      try {
        return uriSan(req.connection().peerCertificates());
      } catch (SSLPeerUnverifiedException e) {
        return "";
      }
    }

    @Override
    public String requestedServerName() {
      String sni = req.isSSL() ? req.connection().indicatedServerName() : null;
      return sni == null ? "" : sni;
    }
  }

  /** The first URI SAN of the leaf certificate (a SPIFFE id in the mesh), "" when none. */
  public static String uriSan(List<Certificate> chain) {
    if (chain == null || chain.isEmpty() || !(chain.get(0) instanceof X509Certificate x)) {
      return "";
    }
    try {
      Collection<List<?>> sans = x.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          if (san.size() >= 2 && Integer.valueOf(6).equals(san.get(0))) {
            return String.valueOf(san.get(1));
          }
        }
      }
    } catch (CertificateParsingException e) {
      return "";
    }
    return "";
  }

  static String host(SocketAddress a) {
    if (a == null) {
      return "";
    }
    String h = a.hostAddress() != null ? a.hostAddress() : a.host();
    return h == null ? "" : h;
  }
}
