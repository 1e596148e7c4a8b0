package io.shopmesh.mesh.xds.authz;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig;
import io.envoyproxy.envoy.type.matcher.v3.ListMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.fabric8.istio.api.api.security.v1beta1.Condition;
import io.fabric8.istio.api.api.security.v1beta1.Operation;
import io.fabric8.istio.api.api.security.v1beta1.Rule;
import io.fabric8.istio.api.api.security.v1beta1.RuleFrom;
import io.fabric8.istio.api.api.security.v1beta1.RuleTo;
import io.fabric8.istio.api.api.security.v1beta1.Source;
import java.util.ArrayList;
import java.util.List;

/**
 * One AuthorizationPolicy rule as an Envoy RBAC policy, as Istio's {@code security/authz/model}
 * builds it: every {@code to} is one permission (an AND of its fields, each an OR of its values,
 * {@code not*} fields a NOT of an OR), every {@code from} one principal, and the {@code when}
 * conditions are added to each (connection-side keys to the permissions, caller-side keys to the
 * principals).
 */
final class AuthzModel {

  static final String JWT_FILTER = "envoy.filters.http.jwt_authn";
  static final String JWT_PAYLOAD = "payload";
  static final String SPIFFE = "spiffe://";

  private final List<List<Attr>> permissions = new ArrayList<>();
  private final List<List<Attr>> principals = new ArrayList<>();

  /** One field of a rule and its values: key, values, notValues, how it is generated. */
  record Attr(String key, List<String> values, List<String> notValues, Kind kind) {}

  /** How a key becomes an Envoy matcher (Istio's generator types). */
  enum Kind {
    DEST_IP,
    DEST_PORT,
    CONN_SNI,
    ENVOY_FILTER,
    SRC_IP,
    REMOTE_IP,
    SRC_NAMESPACE,
    SRC_TRUST_DOMAIN,
    SRC_SERVICE_ACCOUNT,
    SRC_PRINCIPAL,
    REQUEST_PRINCIPAL,
    REQUEST_AUDIENCES,
    REQUEST_PRESENTER,
    REQUEST_HEADER,
    REQUEST_CLAIMS,
    HOST,
    PATH,
    METHOD;

    /** Istio's "extended" generators take all values at once (JWT claims, Envoy metadata). */
    boolean extended() {
      return this == ENVOY_FILTER
          || this == REQUEST_PRINCIPAL
          || this == REQUEST_AUDIENCES
          || this == REQUEST_PRESENTER
          || this == REQUEST_CLAIMS;
    }
  }

  private final String policyNamespace;

  private AuthzModel(String policyNamespace) {
    this.policyNamespace = policyNamespace;
  }

  /** The model of one rule; an unknown {@code when} key is an error (the rule is skipped). */
  static AuthzModel of(String policyNamespace, Rule r) {
    AuthzModel m = new AuthzModel(policyNamespace);
    List<Attr> basePermission = new ArrayList<>();
    List<Attr> basePrincipal = new ArrayList<>();
    for (Condition when : nn(r.getWhen())) {
      String k = when.getKey() == null ? "" : when.getKey();
      Kind kind;
      boolean permission = false;
      if (k.equals("destination.ip")) {
        kind = Kind.DEST_IP;
        permission = true;
      } else if (k.equals("destination.port")) {
        kind = Kind.DEST_PORT;
        permission = true;
      } else if (k.equals("connection.sni")) {
        kind = Kind.CONN_SNI;
        permission = true;
      } else if (k.startsWith("experimental.envoy.filters.")) {
        kind = Kind.ENVOY_FILTER;
        permission = true;
      } else if (k.equals("source.ip")) {
        kind = Kind.SRC_IP;
      } else if (k.equals("remote.ip")) {
        kind = Kind.REMOTE_IP;
      } else if (k.equals("source.namespace")) {
        kind = Kind.SRC_NAMESPACE;
      } else if (k.equals("source.trustDomain")) {
        kind = Kind.SRC_TRUST_DOMAIN;
      } else if (k.equals("source.serviceAccount")) {
        kind = Kind.SRC_SERVICE_ACCOUNT;
      } else if (k.equals("source.principal")) {
        kind = Kind.SRC_PRINCIPAL;
      } else if (k.equals("request.auth.principal")) {
        kind = Kind.REQUEST_PRINCIPAL;
      } else if (k.equals("request.auth.audiences")) {
        kind = Kind.REQUEST_AUDIENCES;
      } else if (k.equals("request.auth.presenter")) {
        kind = Kind.REQUEST_PRESENTER;
      } else if (k.startsWith("request.headers")) {
        kind = Kind.REQUEST_HEADER;
      } else if (k.startsWith("request.auth.claims")) {
        kind = Kind.REQUEST_CLAIMS;
      } else {
        throw new IllegalArgumentException("unknown attribute " + k);
      }
      append(
          permission ? basePermission : basePrincipal,
          k,
          when.getValues(),
          when.getNotValues(),
          kind);
    }
    for (RuleFrom from : nn(r.getFrom())) {
      List<Attr> merged = new ArrayList<>(basePrincipal);
      Source s = from.getSource();
      if (s != null) {
        front(merged, "source.ip", s.getIpBlocks(), s.getNotIpBlocks(), Kind.SRC_IP);
        front(merged, "remote.ip", s.getRemoteIpBlocks(), s.getNotRemoteIpBlocks(), Kind.REMOTE_IP);
        front(
            merged,
            "source.namespace",
            s.getNamespaces(),
            s.getNotNamespaces(),
            Kind.SRC_NAMESPACE);
        front(
            merged,
            "source.trustDomain",
            strings(s.getAdditionalProperties().get("trustDomains")),
            strings(s.getAdditionalProperties().get("notTrustDomains")),
            Kind.SRC_TRUST_DOMAIN);
        front(
            merged,
            "source.serviceAccount",
            s.getServiceAccounts(),
            s.getNotServiceAccounts(),
            Kind.SRC_SERVICE_ACCOUNT);
        front(
            merged,
            "request.auth.principal",
            s.getRequestPrincipals(),
            s.getNotRequestPrincipals(),
            Kind.REQUEST_PRINCIPAL);
        front(
            merged,
            "source.principal",
            s.getPrincipals(),
            s.getNotPrincipals(),
            Kind.SRC_PRINCIPAL);
      }
      m.principals.add(merged);
    }
    if (nn(r.getFrom()).isEmpty()) {
      m.principals.add(basePrincipal);
    }
    for (RuleTo to : nn(r.getTo())) {
      List<Attr> merged = new ArrayList<>(basePermission);
      Operation o = to.getOperation();
      if (o != null) {
        front(merged, "destination.port", o.getPorts(), o.getNotPorts(), Kind.DEST_PORT);
        front(merged, "path-matcher", o.getPaths(), o.getNotPaths(), Kind.PATH);
        front(merged, ":method", o.getMethods(), o.getNotMethods(), Kind.METHOD);
        front(merged, ":authority", o.getHosts(), o.getNotHosts(), Kind.HOST);
      }
      m.permissions.add(merged);
    }
    if (nn(r.getTo()).isEmpty()) {
      m.permissions.add(basePermission);
    }
    return m;
  }

  /** Trust domain aliases: principals are widened to every trust domain of the bundle. */
  void migrateTrustDomain(TrustDomainBundle bundle) {
    for (List<Attr> p : principals) {
      for (int i = 0; i < p.size(); i++) {
        Attr a = p.get(i);
        if (a.kind() == Kind.SRC_PRINCIPAL) {
          p.set(
              i,
              new Attr(
                  a.key(),
                  a.values().isEmpty() ? a.values() : bundle.replaceTrustDomainAliases(a.values()),
                  a.notValues().isEmpty()
                      ? a.notValues()
                      : bundle.replaceTrustDomainAliases(a.notValues()),
                  a.kind()));
        } else if (a.kind() == Kind.SRC_TRUST_DOMAIN) {
          p.set(
              i,
              new Attr(
                  a.key(),
                  a.values().isEmpty() ? a.values() : bundle.expandTrustDomainAliases(a.values()),
                  a.notValues().isEmpty()
                      ? a.notValues()
                      : bundle.expandTrustDomainAliases(a.notValues()),
                  a.kind()));
        }
      }
    }
  }

  /**
   * The RBAC policy; an HTTP-only field on a TCP chain (or a bad value) fails an ALLOW rule (it is
   * skipped, so it allows nothing) but is left out of a DENY or AUDIT rule (it then denies more).
   */
  Policy generate(boolean forTcp, RBAC.Action action) {
    Policy.Builder p = Policy.newBuilder();
    for (List<Attr> rl : permissions) {
      List<Permission> and = new ArrayList<>();
      for (Attr a : rl) {
        and.addAll(permission(a, forTcp, action));
      }
      if (and.isEmpty()) {
        and.add(Permission.newBuilder().setAny(true).build());
      }
      p.addPermissions(
          Permission.newBuilder().setAndRules(Permission.Set.newBuilder().addAllRules(and)));
    }
    for (List<Attr> rl : principals) {
      List<Principal> and = new ArrayList<>();
      for (Attr a : rl) {
        and.addAll(principal(a, forTcp, action));
      }
      if (and.isEmpty()) {
        and.add(Principal.newBuilder().setAny(true).build());
      }
      p.addPrincipals(Principal.newBuilder().setAndIds(Principal.Set.newBuilder().addAllIds(and)));
    }
    return p.build();
  }

  private List<Permission> permission(Attr a, boolean forTcp, RBAC.Action action) {
    List<Permission> out = new ArrayList<>();
    if (a.kind().extended()) {
      if (!a.values().isEmpty()) {
        Permission p = checked(action, () -> extendedPermission(a, a.values(), forTcp));
        if (p != null) {
          out.add(p);
        }
      }
      if (!a.notValues().isEmpty()) {
        Permission p = checked(action, () -> extendedPermission(a, a.notValues(), forTcp));
        if (p != null) {
          out.add(Permission.newBuilder().setNotRule(p).build());
        }
      }
      return out;
    }
    List<Permission> or = new ArrayList<>();
    for (String v : a.values()) {
      Permission p = checked(action, () -> permission(a, v, forTcp));
      if (p != null) {
        or.add(p);
      }
    }
    if (!or.isEmpty()) {
      out.add(orRules(or));
    }
    List<Permission> not = new ArrayList<>();
    for (String v : a.notValues()) {
      Permission p = checked(action, () -> permission(a, v, forTcp));
      if (p != null) {
        not.add(p);
      }
    }
    if (!not.isEmpty()) {
      out.add(Permission.newBuilder().setNotRule(orRules(not)).build());
    }
    return out;
  }

  private List<Principal> principal(Attr a, boolean forTcp, RBAC.Action action) {
    List<Principal> out = new ArrayList<>();
    if (a.kind().extended()) {
      if (!a.values().isEmpty()) {
        Principal p = checked(action, () -> extendedPrincipal(a, a.values(), forTcp));
        if (p != null) {
          out.add(p);
        }
      }
      if (!a.notValues().isEmpty()) {
        Principal p = checked(action, () -> extendedPrincipal(a, a.notValues(), forTcp));
        if (p != null) {
          out.add(Principal.newBuilder().setNotId(p).build());
        }
      }
      return out;
    }
    List<Principal> or = new ArrayList<>();
    for (String v : a.values()) {
      Principal p = checked(action, () -> principal(a, v, forTcp));
      if (p != null) {
        or.add(p);
      }
    }
    if (!or.isEmpty()) {
      out.add(orIds(or));
    }
    List<Principal> not = new ArrayList<>();
    for (String v : a.notValues()) {
      Principal p = checked(action, () -> principal(a, v, forTcp));
      if (p != null) {
        not.add(p);
      }
    }
    if (!not.isEmpty()) {
      out.add(Principal.newBuilder().setNotId(orIds(not)).build());
    }
    return out;
  }

  interface Gen<T> {
    T get();
  }

  /** An error fails an ALLOW rule; DENY and AUDIT rules leave the value out. */
  private static <T> T checked(RBAC.Action action, Gen<T> g) {
    try {
      return g.get();
    } catch (IllegalArgumentException e) {
      if (action == RBAC.Action.ALLOW) {
        throw e;
      }
      return null;
    }
  }

  private Permission permission(Attr a, String value, boolean forTcp) {
    Permission.Builder p = Permission.newBuilder();
    switch (a.kind()) {
      case DEST_IP -> p.setDestinationIp(Matchers.cidr(value));
      case DEST_PORT -> p.setDestinationPort(port(value));
      case CONN_SNI -> p.setRequestedServerName(Matchers.string(value));
      case HOST -> {
        httpOnly(a, forTcp);
        p.setHeader(Matchers.host(":authority", value));
      }
      case METHOD -> {
        httpOnly(a, forTcp);
        p.setHeader(Matchers.header(":method", value));
      }
      case PATH -> {
        httpOnly(a, forTcp);
        if (value.contains("{*}") || value.contains("{**}")) {
          String template = value.replace("{**}", "**").replace("{*}", "*");
          p.setUriTemplate(
              TypedExtensionConfig.newBuilder()
                  .setName("uri-template")
                  .setTypedConfig(
                      Any.pack(
                          UriTemplateMatchConfig.newBuilder().setPathTemplate(template).build())));
        } else {
          p.setUrlPath(Matchers.path(value));
        }
      }
      default -> throw new IllegalArgumentException("unimplemented");
    }
    return p.build();
  }

  private Principal principal(Attr a, String value, boolean forTcp) {
    Principal.Builder p = Principal.newBuilder();
    switch (a.kind()) {
      case SRC_IP -> p.setDirectRemoteIp(Matchers.cidr(value));
      case REMOTE_IP -> p.setRemoteIp(Matchers.cidr(value));
      case SRC_NAMESPACE -> {
        String ns =
            String.join(
                ".*", List.of(value.split("\\*", -1)).stream().map(Matchers::quoteMeta).toList());
        return authenticated(Matchers.regex(".*/ns/" + ns + "/.*"));
      }
      case SRC_SERVICE_ACCOUNT -> {
        String ns = policyNamespace;
        String sa = value;
        int slash = value.indexOf('/');
        if (slash >= 0) {
          ns = value.substring(0, slash);
          sa = value.substring(slash + 1);
        }
        return authenticated(
            Matchers.regex(
                "spiffe://.+/ns/"
                    + Matchers.quoteMeta(ns)
                    + "/(.+/|)sa/"
                    + Matchers.quoteMeta(sa)
                    + "(/.+)?"));
      }
      case SRC_TRUST_DOMAIN -> {
        if (value.equals("*")) {
          return authenticated(Matchers.prefix(SPIFFE, false));
        }
        if (!value.contains("*")) {
          return authenticated(Matchers.prefix(SPIFFE + value + "/", false));
        }
        int star = value.indexOf('*');
        return authenticated(
            Matchers.regex(
                SPIFFE
                    + Matchers.quoteMeta(value.substring(0, star))
                    + "[^/]*"
                    + Matchers.quoteMeta(value.substring(star + 1))
                    + "/.*"));
      }
      case SRC_PRINCIPAL -> {
        return authenticated(Matchers.stringWithPrefix(value, SPIFFE));
      }
      case REQUEST_HEADER -> {
        httpOnly(a, forTcp);
        String header = inBrackets(a.key().substring("request.headers".length()));
        p.setHeader(Matchers.header(header, value));
      }
      default -> throw new IllegalArgumentException("unimplemented");
    }
    return p.build();
  }

  private static Principal authenticated(StringMatcher m) {
    return Principal.newBuilder()
        .setAuthenticated(Principal.Authenticated.newBuilder().setPrincipalName(m))
        .build();
  }

  private Permission extendedPermission(Attr a, List<String> values, boolean forTcp) {
    if (a.kind() != Kind.ENVOY_FILTER) {
      throw new IllegalArgumentException("unimplemented");
    }
    String k = a.key().substring("experimental.".length());
    if (k.endsWith("]")) {
      k = k.substring(0, k.length() - 1);
    }
    int bracket = k.indexOf('[');
    if (bracket < 0) {
      throw new IllegalArgumentException("invalid key: " + a.key());
    }
    List<ValueMatcher> matchers = new ArrayList<>();
    for (String v : values) {
      if (v.startsWith("[") && v.endsWith("]")) {
        String inner = v.replaceAll("^\\[+|\\]+$", "");
        matchers.add(
            ValueMatcher.newBuilder()
                .setListMatch(
                    ListMatcher.newBuilder().setOneOf(Matchers.stringValue(Matchers.string(inner))))
                .build());
      } else {
        matchers.add(Matchers.stringValue(Matchers.string(v)));
      }
    }
    MetadataMatcher m =
        Matchers.metadataValue(
            k.substring(0, bracket), k.substring(bracket + 1), Matchers.or(matchers));
    return Permission.newBuilder().setMetadata(m).build();
  }

  private Principal extendedPrincipal(Attr a, List<String> values, boolean forTcp) {
    switch (a.kind()) {
      case REQUEST_PRINCIPAL -> {
        httpOnly(a, forTcp);
        List<Principal> or = new ArrayList<>();
        for (String v : values) {
          or.add(requestPrincipal(v));
        }
        return or.size() == 1 ? or.get(0) : orIds(or);
      }
      case REQUEST_AUDIENCES -> {
        httpOnly(a, forTcp);
        return metadata(jwtClaims(List.of("aud"), Matchers.stringOr(values)));
      }
      case REQUEST_PRESENTER -> {
        httpOnly(a, forTcp);
        return metadata(jwtClaims(List.of("azp"), Matchers.stringOr(values)));
      }
      case REQUEST_CLAIMS -> {
        httpOnly(a, forTcp);
        List<String> claims = nestedBrackets(a.key().substring("request.auth.claims".length()));
        return metadata(jwtClaims(claims, Matchers.stringOr(values)));
      }
      default -> throw new IllegalArgumentException("unimplemented");
    }
  }

  /** {@code iss/sub} of the request's JWT, each side with Istio's wildcard rules. */
  private static Principal requestPrincipal(String value) {
    StringMatcher any = Matchers.regex(".+");
    int idx = value.lastIndexOf('/');
    boolean found = idx >= 0;
    String iss = found ? value.substring(0, idx) : value;
    String sub = found ? value.substring(idx + 1) : "";
    StringMatcher matchIss;
    StringMatcher matchSub;
    if (value.equals("*")) {
      matchIss = any;
      matchSub = any;
    } else if (value.startsWith("*")) {
      if (found) {
        matchIss = iss.equals("*") ? any : Matchers.suffix(iss.substring(1), false);
        matchSub = Matchers.exact(sub, false);
      } else {
        matchIss = any;
        matchSub = Matchers.suffix(value.substring(1), false);
      }
    } else if (value.endsWith("*")) {
      if (found) {
        matchIss = Matchers.exact(iss, false);
        matchSub =
            sub.equals("*") ? any : Matchers.prefix(sub.substring(0, sub.length() - 1), false);
      } else {
        matchIss = Matchers.prefix(value.substring(0, value.length() - 1), false);
        matchSub = any;
      }
    } else {
      matchSub = Matchers.exact(sub, false);
      matchIss = Matchers.exact(iss, false);
    }
    return Principal.newBuilder()
        .setAndIds(
            Principal.Set.newBuilder()
                .addIds(metadata(jwtClaim("iss", matchIss)))
                .addIds(metadata(jwtClaim("sub", matchSub))))
        .build();
  }

  private static MetadataMatcher jwtClaim(String claim, StringMatcher m) {
    return MetadataMatcher.newBuilder()
        .setFilter(JWT_FILTER)
        .addPath(MetadataMatcher.PathSegment.newBuilder().setKey(JWT_PAYLOAD))
        .addPath(MetadataMatcher.PathSegment.newBuilder().setKey(claim))
        .setValue(Matchers.stringValue(m))
        .build();
  }

  private static MetadataMatcher jwtClaims(List<String> claims, ValueMatcher value) {
    List<String> keys = new ArrayList<>();
    keys.add(JWT_PAYLOAD);
    keys.addAll(claims);
    return Matchers.metadataList(JWT_FILTER, keys, value, true);
  }

  private static Principal metadata(MetadataMatcher m) {
    return Principal.newBuilder().setMetadata(m).build();
  }

  private static Permission orRules(List<Permission> or) {
    return Permission.newBuilder().setOrRules(Permission.Set.newBuilder().addAllRules(or)).build();
  }

  private static Principal orIds(List<Principal> or) {
    return Principal.newBuilder().setOrIds(Principal.Set.newBuilder().addAllIds(or)).build();
  }

  private static void httpOnly(Attr a, boolean forTcp) {
    if (forTcp) {
      throw new IllegalArgumentException("\"" + a.key() + "\" is HTTP only");
    }
  }

  private static int port(String v) {
    try {
      long p = Long.parseLong(v);
      if (p < 0 || p > 65535) {
        throw new IllegalArgumentException("invalid port " + v);
      }
      return (int) p;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("invalid port " + v);
    }
  }

  static String inBrackets(String s) {
    if (!s.startsWith("[") || !s.endsWith("]")) {
      throw new IllegalArgumentException("expecting format [<NAME>], but found " + s);
    }
    return s.substring(1, s.length() - 1);
  }

  /** {@code [a][b]} as [a, b]; anything else must be one {@code [name]}. */
  static List<String> nestedBrackets(String s) {
    List<String> claims = new ArrayList<>();
    int begin = 0;
    while (begin < s.length()) {
      int end = -1;
      if (s.charAt(begin) == '[') {
        for (int i = begin + 1; i < s.length(); i++) {
          if (s.charAt(i) == '[') {
            break;
          }
          if (s.charAt(i) == ']') {
            end = i;
            break;
          }
        }
      }
      if (end == -1) {
        return List.of(inBrackets(s));
      }
      claims.add(s.substring(begin + 1, end));
      begin = end + 1;
    }
    return claims;
  }

  private static void append(
      List<Attr> list, String key, List<String> values, List<String> notValues, Kind kind) {
    if (nn(values).isEmpty() && nn(notValues).isEmpty()) {
      return;
    }
    list.add(new Attr(key, nn(values), nn(notValues), kind));
  }

  private static void front(
      List<Attr> list, String key, List<String> values, List<String> notValues, Kind kind) {
    if (nn(values).isEmpty() && nn(notValues).isEmpty()) {
      return;
    }
    list.add(0, new Attr(key, nn(values), nn(notValues), kind));
  }

  static List<String> strings(Object o) {
    if (o instanceof List<?> l) {
      return l.stream().map(String::valueOf).toList();
    }
    return List.of();
  }

  static <T> List<T> nn(List<T> l) {
    return l == null ? List.of() : l;
  }
}
