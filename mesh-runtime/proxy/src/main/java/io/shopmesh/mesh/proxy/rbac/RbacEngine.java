package io.shopmesh.mesh.proxy.rbac;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.re2j.Pattern;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.shopmesh.mesh.proxy.router.Matchers;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Envoy's RBAC engine for one {@code config.rbac.v3.RBAC}: each policy matches when any of its
 * permissions and any of its principals match; the action then decides (ALLOW: allowed only when a
 * policy matches; DENY: denied when one matches; LOG: always allowed). Policies are tried in name
 * order, so the matched policy id is stable. What this proxy cannot see (dynamic metadata such as
 * JWT claims, filter state) never matches, as in Envoy when the value is absent.
 */
public final class RbacEngine {

  /** What a rule can look at: the connection, and for HTTP the request. */
  public interface Request extends Matchers.HeaderLookup {
    /** The request path without the query, null on a TCP connection. */
    String urlPath();

    String destinationIp();

    int destinationPort();

    /** The peer of the downstream connection. */
    String directRemoteIp();

    /** The original client (x-forwarded-for at a gateway); the peer otherwise. */
    String remoteIp();

    /** The URI SAN of the downstream client certificate, "" without one, null without TLS. */
    String principal();

    /** The SNI of the downstream TLS connection, "" without one. */
    String requestedServerName();
  }

  /** The outcome: allowed or not, and the id of the policy that decided (null: none). */
  public record Decision(boolean allowed, String policy) {
    /** Envoy's response code details for a denied request. */
    public String details() {
      return "rbac_access_denied_matched_policy[" + (policy == null ? "none" : policy) + "]";
    }
  }

  private final RBAC.Action action;
  private final Map<String, Predicate<Request>> policies = new TreeMap<>();

  public RbacEngine(RBAC rbac) {
    this.action = rbac.getAction();
    for (Map.Entry<String, Policy> e : rbac.getPoliciesMap().entrySet()) {
      policies.put(e.getKey(), policy(e.getValue()));
    }
  }

  /** An engine that allows everything (a filter without rules). */
  static RbacEngine allowingAll() {
    return new RbacEngine(RBAC.newBuilder().setAction(RBAC.Action.LOG).build());
  }

  public Decision evaluate(Request r) {
    String matched = null;
    for (Map.Entry<String, Predicate<Request>> e : policies.entrySet()) {
      if (e.getValue().test(r)) {
        matched = e.getKey();
        break;
      }
    }
    return switch (action) {
      case ALLOW -> new Decision(matched != null, matched);
      case DENY -> new Decision(matched == null, matched);
      default -> new Decision(true, matched);
    };
  }

  private static Predicate<Request> policy(Policy p) {
    List<Predicate<Request>> perms = compile(p.getPermissionsList(), RbacEngine::permission);
    List<Predicate<Request>> ids = compile(p.getPrincipalsList(), RbacEngine::principal);
    return r -> any(perms, r) && any(ids, r);
  }

  private static <T> List<Predicate<Request>> compile(
      List<T> rules, Function<T, Predicate<Request>> rule) {
    List<Predicate<Request>> ps = new ArrayList<>(rules.size());
    for (T x : rules) {
      ps.add(rule.apply(x));
    }
    return ps;
  }

  private static boolean any(List<Predicate<Request>> ps, Request r) {
    for (Predicate<Request> p : ps) {
      if (p.test(r)) {
        return true;
      }
    }
    return false;
  }

  private static boolean all(List<Predicate<Request>> ps, Request r) {
    for (Predicate<Request> p : ps) {
      if (!p.test(r)) {
        return false;
      }
    }
    return true;
  }

  static Predicate<Request> permission(Permission p) {
    switch (p.getRuleCase()) {
      case ANY:
        return r -> p.getAny();
      case AND_RULES:
        {
          List<Predicate<Request>> ps =
              compile(p.getAndRules().getRulesList(), RbacEngine::permission);
          return r -> all(ps, r);
        }
      case OR_RULES:
        {
          List<Predicate<Request>> ps =
              compile(p.getOrRules().getRulesList(), RbacEngine::permission);
          return r -> any(ps, r);
        }
      case NOT_RULE:
        return permission(p.getNotRule()).negate();
      case HEADER:
        return header(p.getHeader());
      case URL_PATH:
        return urlPath(p.getUrlPath());
      case URI_TEMPLATE:
        {
          Predicate<String> m = uriTemplate(p.getUriTemplate().getTypedConfig());
          return r -> r.urlPath() != null && m.test(r.urlPath());
        }
      case DESTINATION_IP:
        {
          Predicate<String> m = cidr(p.getDestinationIp());
          return r -> m.test(r.destinationIp());
        }
      case DESTINATION_PORT:
        return r -> r.destinationPort() == p.getDestinationPort();
      case DESTINATION_PORT_RANGE:
        return r ->
            r.destinationPort() >= p.getDestinationPortRange().getStart()
                && r.destinationPort() < p.getDestinationPortRange().getEnd();
      case REQUESTED_SERVER_NAME:
        {
          Predicate<String> m = Matchers.string(p.getRequestedServerName());
          return r -> m.test(r.requestedServerName() == null ? "" : r.requestedServerName());
        }
      default:
        // metadata (JWT claims, Envoy filter metadata): not available here, never matches
        return r -> false;
    }
  }

  static Predicate<Request> principal(Principal p) {
    switch (p.getIdentifierCase()) {
      case ANY:
        return r -> p.getAny();
      case AND_IDS:
        {
          List<Predicate<Request>> ps = compile(p.getAndIds().getIdsList(), RbacEngine::principal);
          return r -> all(ps, r);
        }
      case OR_IDS:
        {
          List<Predicate<Request>> ps = compile(p.getOrIds().getIdsList(), RbacEngine::principal);
          return r -> any(ps, r);
        }
      case NOT_ID:
        return principal(p.getNotId()).negate();
      case AUTHENTICATED:
        {
          if (!p.getAuthenticated().hasPrincipalName()) {
            return r -> r.principal() != null;
          }
          Predicate<String> m = Matchers.string(p.getAuthenticated().getPrincipalName());
          // Envoy matches the certificate's URI SAN as written (spiffe://...); no TLS, no match
          return r -> r.principal() != null && !r.principal().isEmpty() && m.test(r.principal());
        }
      case DIRECT_REMOTE_IP:
        {
          Predicate<String> m = cidr(p.getDirectRemoteIp());
          return r -> m.test(r.directRemoteIp());
        }
      case REMOTE_IP:
        {
          Predicate<String> m = cidr(p.getRemoteIp());
          return r -> m.test(r.remoteIp());
        }
      case SOURCE_IP:
        {
          Predicate<String> m = cidr(p.getSourceIp());
          return r -> m.test(r.directRemoteIp());
        }
      case HEADER:
        return header(p.getHeader());
      case URL_PATH:
        return urlPath(p.getUrlPath());
      default:
        // metadata and filter state (JWT claims, peer metadata): not available, never matches
        return r -> false;
    }
  }

  /** A header rule; on a TCP connection there are no headers, so it does not match (Envoy). */
  private static Predicate<Request> header(HeaderMatcher header) {
    Predicate<Matchers.HeaderLookup> h = Matchers.header(header);
    return r -> r.urlPath() != null && h.test(r);
  }

  /** A path rule; no path on a TCP connection, no match. */
  private static Predicate<Request> urlPath(PathMatcher path) {
    Predicate<String> m = Matchers.string(path.getPath());
    return r -> r.urlPath() != null && m.test(r.urlPath());
  }

  /** An address inside a CIDR range (IPv4 or IPv6). */
  static Predicate<String> cidr(CidrRange c) {
    byte[] net = parse(c.getAddressPrefix());
    int len = c.hasPrefixLen() ? c.getPrefixLen().getValue() : (net == null ? 0 : net.length * 8);
    return ip -> {
      byte[] a = parse(ip);
      if (net == null || a == null || a.length != net.length) {
        return false;
      }
      for (int i = 0; i < len; i++) {
        int mask = 0x80 >> (i % 8);
        if ((a[i / 8] & mask) != (net[i / 8] & mask)) {
          return false;
        }
      }
      return true;
    };
  }

  private static byte[] parse(String ip) {
    if (ip == null || ip.isEmpty() || !(ip.contains(":") || ip.matches("[0-9.]+"))) {
      return null;
    }
    try {
      return InetAddress.getByName(ip).getAddress();
    } catch (UnknownHostException e) {
      return null;
    }
  }

  /**
   * Envoy's uri_template path match: {@code *} is one path segment, {@code **} the rest of the path
   * (any number of segments), other segments literal.
   */
  static Predicate<String> uriTemplate(Any any) {
    String template;
    try {
      template = any.unpack(UriTemplateMatchConfig.class).getPathTemplate();
    } catch (InvalidProtocolBufferException e) {
      return r -> false;
    }
    List<String> parts = new ArrayList<>();
    for (String seg : template.split("/", -1)) {
      parts.add(
          switch (seg) {
            case "**" -> "[^?#]*";
            case "*" -> "[^/?#]+";
            default -> seg.isEmpty() ? "" : Pattern.quote(seg);
          });
    }
    Pattern p = Pattern.compile(String.join("/", parts));
    return p::matches;
  }
}
