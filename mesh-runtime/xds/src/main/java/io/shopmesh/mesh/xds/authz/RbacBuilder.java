package io.shopmesh.mesh.xds.authz;

import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.fabric8.istio.api.api.security.v1beta1.Rule;
import io.fabric8.istio.api.security.v1.AuthorizationPolicy;
import io.shopmesh.mesh.config.Located;
import io.shopmesh.mesh.config.MeshConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * The RBAC filters for the AuthorizationPolicies that apply to one workload, as Istio's {@code
 * security/authz/builder}: one filter per action in the order AUDIT, DENY, ALLOW (Envoy runs them
 * in that order, so a DENY match wins over any ALLOW). A policy with no rules is a policy that
 * never matches (an ALLOW of nothing: allow-nothing). Policies annotated {@code istio.io/dry-run:
 * "true"} go to the filter's shadow rules, which only log and count. CUSTOM policies are not built
 * here.
 */
public final class RbacBuilder {

  public static final String HTTP_RBAC = "envoy.filters.http.rbac";
  public static final String TCP_RBAC = "envoy.filters.network.rbac";
  public static final String DRY_RUN = "istio.io/dry-run";
  public static final String TRUST_DOMAIN = "cluster.local";
  static final String TCP_STAT_PREFIX = "tcp.";
  static final String SHADOW_ALLOW_PREFIX = "istio_dry_run_allow_";
  static final String SHADOW_DENY_PREFIX = "istio_dry_run_deny_";

  private static final Logger LOG = Logger.getLogger(RbacBuilder.class.getName());

  private static final Policy MATCH_NEVER =
      Policy.newBuilder()
          .addPermissions(Permission.newBuilder().setNotRule(Permission.newBuilder().setAny(true)))
          .addPrincipals(Principal.newBuilder().setNotId(Principal.newBuilder().setAny(true)))
          .build();

  private final TrustDomainBundle trustDomains;
  private final List<AuthorizationPolicy> audit;
  private final List<AuthorizationPolicy> deny;
  private final List<AuthorizationPolicy> allow;

  public RbacBuilder(TrustDomainBundle trustDomains, AuthzPolicies.Selected policies) {
    this.trustDomains = trustDomains;
    this.audit = policies.audit();
    this.deny = policies.deny();
    this.allow = policies.allow();
  }

  /**
   * The builder for one workload of the mesh: the policies of the root namespace and of its own
   * that select it, with the mesh's trust domain ({@code cluster.local}).
   */
  public static RbacBuilder forWorkload(
      MeshConfig config, String namespace, Map<String, String> labels) {
    List<AuthorizationPolicy> all =
        config.authorizationPolicies().stream().map(Located::object).toList();
    return new RbacBuilder(
        TrustDomainBundle.of(TRUST_DOMAIN, List.of()),
        AuthzPolicies.forWorkload(all, AuthzPolicies.ROOT_NAMESPACE, namespace, labels));
  }

  public boolean isEmpty() {
    return audit.isEmpty() && deny.isEmpty() && allow.isEmpty();
  }

  /** The {@code envoy.filters.http.rbac} filters, to go before the router. */
  public List<HttpFilter> buildHttp() {
    return build(false, HttpRbac::filter);
  }

  /** The {@code envoy.filters.network.rbac} filters, to go before tcp_proxy or the HCM. */
  public List<Filter> buildTcp() {
    return build(true, TcpRbac::filter);
  }

  /** Istio sets the prefix even without shadow rules (then from the default action, ALLOW). */
  static String shadowPrefix(RBAC shadow) {
    RBAC.Action action = shadow == null ? RBAC.Action.ALLOW : shadow.getAction();
    return switch (action) {
      case ALLOW -> SHADOW_ALLOW_PREFIX;
      case DENY -> SHADOW_DENY_PREFIX;
      default -> "";
    };
  }

  record Built(RBAC rules, RBAC shadow) {}

  private <T> List<T> build(boolean forTcp, Function<Built, T> translate) {
    List<T> out = new ArrayList<>();
    Built b = build(audit, RBAC.Action.LOG, forTcp);
    if (b != null) {
      out.add(translate.apply(b));
    }
    b = build(deny, RBAC.Action.DENY, forTcp);
    if (b != null) {
      out.add(translate.apply(b));
    }
    b = build(allow, RBAC.Action.ALLOW, forTcp);
    if (b != null) {
      out.add(translate.apply(b));
    }
    return out;
  }

  private Built build(List<AuthorizationPolicy> policies, RBAC.Action action, boolean forTcp) {
    if (policies.isEmpty()) {
      return null;
    }
    RBAC.Builder enforce = RBAC.newBuilder().setAction(action);
    RBAC.Builder shadow = RBAC.newBuilder().setAction(action);
    boolean hasEnforce = false;
    boolean hasShadow = false;
    for (AuthorizationPolicy policy : policies) {
      RBAC.Builder current;
      if (isDryRun(policy)) {
        current = shadow;
        hasShadow = true;
      } else {
        current = enforce;
        hasEnforce = true;
      }
      String ns = policy.getMetadata().getNamespace();
      String name = policy.getMetadata().getName();
      List<Rule> rules = policy.getSpec() == null ? null : policy.getSpec().getRules();
      rules = rules == null ? List.of() : rules;
      for (int i = 0; i < rules.size(); i++) {
        String ruleName = policyName(ns, name, i);
        Rule rule = rules.get(i);
        if (rule == null) {
          continue;
        }
        try {
          AuthzModel m = AuthzModel.of(ns, rule);
          m.migrateTrustDomain(trustDomains);
          current.putPolicies(ruleName, m.generate(forTcp, action));
        } catch (IllegalArgumentException e) {
          LOG.fine(() -> "skipped rule " + ruleName + ": " + e.getMessage());
        }
      }
      if (rules.isEmpty()) {
        current.putPolicies(policyName(ns, name, 0), MATCH_NEVER);
      }
    }
    return new Built(hasEnforce ? enforce.build() : null, hasShadow ? shadow.build() : null);
  }

  /** Go's strconv.ParseBool, as Istio reads the annotation; anything else is not dry-run. */
  static boolean isDryRun(AuthorizationPolicy policy) {
    Map<String, String> a = policy.getMetadata().getAnnotations();
    String v = a == null ? null : a.get(DRY_RUN);
    return v != null && Set.of("1", "t", "T", "true", "TRUE", "True").contains(v);
  }

  /** Istio's RBAC policy name: {@code ns[foo]-policy[httpbin]-rule[0]}. */
  public static String policyName(String namespace, String name, int rule) {
    return "ns[" + namespace + "]-policy[" + name + "]-rule[" + rule + "]";
  }
}
