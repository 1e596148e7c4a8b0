package io.shopmesh.mesh.xds.authz;

import io.fabric8.istio.api.api.security.v1beta1.AuthorizationPolicyAction;
import io.fabric8.istio.api.api.type.v1beta1.PolicyTargetReference;
import io.fabric8.istio.api.api.type.v1beta1.WorkloadSelector;
import io.fabric8.istio.api.security.v1.AuthorizationPolicy;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Which AuthorizationPolicies apply to a workload, as Istio's {@code
 * AuthorizationPolicies.ListAuthorizationPolicies}: those of the root namespace (mesh-wide) and of
 * the workload's namespace whose {@code selector} matches its labels (no selector: every workload
 * there), or whose {@code targetRefs} name the workload's Gateway (Kubernetes Gateway API, label
 * {@code gateway.networking.k8s.io/gateway-name}); a policy with {@code targetRefs} applies to no
 * sidecar.
 */
public final class AuthzPolicies {

  public static final String ROOT_NAMESPACE = "istio-system";
  static final String GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name";

  private AuthzPolicies() {}

  /** The selected policies by action, each list in Istio's order (oldest, then by name). */
  public record Selected(
      List<AuthorizationPolicy> custom,
      List<AuthorizationPolicy> deny,
      List<AuthorizationPolicy> allow,
      List<AuthorizationPolicy> audit) {

    public static final Selected NONE = new Selected(List.of(), List.of(), List.of(), List.of());

    public Selected {
      custom = List.copyOf(custom);
      deny = List.copyOf(deny);
      allow = List.copyOf(allow);
      audit = List.copyOf(audit);
    }

    public boolean isEmpty() {
      return deny.isEmpty() && allow.isEmpty() && audit.isEmpty();
    }
  }

  public static Selected forWorkload(
      List<AuthorizationPolicy> all,
      String rootNamespace,
      String namespace,
      Map<String, String> labels) {
    List<AuthorizationPolicy> custom = new ArrayList<>();
    List<AuthorizationPolicy> deny = new ArrayList<>();
    List<AuthorizationPolicy> allow = new ArrayList<>();
    List<AuthorizationPolicy> audit = new ArrayList<>();
    List<AuthorizationPolicy> sorted = new ArrayList<>(all);
    sorted.sort(
        Comparator.comparing((AuthorizationPolicy p) -> !rootNamespace.equals(ns(p)))
            .thenComparing(
                p ->
                    p.getMetadata().getCreationTimestamp() == null
                        ? ""
                        : p.getMetadata().getCreationTimestamp())
            .thenComparing(p -> p.getMetadata().getName()));
    for (AuthorizationPolicy p : sorted) {
      String pns = ns(p);
      if (!pns.equals(rootNamespace) && !pns.equals(namespace)) {
        continue;
      }
      if (!applies(p, namespace, labels)) {
        continue;
      }
      AuthorizationPolicyAction action = p.getSpec() == null ? null : p.getSpec().getAction();
      if (action == null || action == AuthorizationPolicyAction.ALLOW) {
        allow.add(p);
      } else if (action == AuthorizationPolicyAction.DENY) {
        deny.add(p);
      } else if (action == AuthorizationPolicyAction.AUDIT) {
        audit.add(p);
      } else if (action == AuthorizationPolicyAction.CUSTOM) {
        custom.add(p);
      }
    }
    return new Selected(custom, deny, allow, audit);
  }

  static boolean applies(AuthorizationPolicy p, String namespace, Map<String, String> labels) {
    if (p.getSpec() == null) {
      return true;
    }
    List<PolicyTargetReference> refs = new ArrayList<>();
    if (p.getSpec().getTargetRefs() != null) {
      refs.addAll(p.getSpec().getTargetRefs());
    }
    if (p.getSpec().getTargetRef() != null) {
      refs.add(p.getSpec().getTargetRef());
    }
    if (!refs.isEmpty()) {
      String gateway = labels.get(GATEWAY_NAME_LABEL);
      for (PolicyTargetReference r : refs) {
        String refNs =
            r.getNamespace() == null || r.getNamespace().isEmpty() ? ns(p) : r.getNamespace();
        if ("Gateway".equals(r.getKind())
            && "gateway.networking.k8s.io".equals(r.getGroup())
            && gateway != null
            && gateway.equals(r.getName())
            && refNs.equals(namespace)) {
          return true;
        }
      }
      return false;
    }
    WorkloadSelector sel = p.getSpec().getSelector();
    if (sel == null || sel.getMatchLabels() == null || sel.getMatchLabels().isEmpty()) {
      return true;
    }
    for (Map.Entry<String, String> e : sel.getMatchLabels().entrySet()) {
      if (!e.getValue().equals(labels.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  private static String ns(AuthorizationPolicy p) {
    String ns = p.getMetadata().getNamespace();
    return ns == null || ns.isEmpty() ? "default" : ns;
  }
}
