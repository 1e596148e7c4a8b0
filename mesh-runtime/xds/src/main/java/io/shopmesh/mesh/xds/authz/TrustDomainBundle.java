package io.shopmesh.mesh.xds.authz;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * The mesh's trust domain and its aliases (meshConfig {@code trustDomain}, {@code
 * trustDomainAliases}): a principal written for one of them is matched for all, as Istio's {@code
 * trustdomain.Bundle} does.
 */
public record TrustDomainBundle(List<String> trustDomains) {

  /** No trust domain configured: {@code cluster.local} principals are kept as written. */
  public static final TrustDomainBundle NONE = new TrustDomainBundle(List.of());

  public TrustDomainBundle {
    trustDomains = List.copyOf(trustDomains);
  }

  public static TrustDomainBundle of(String trustDomain, List<String> aliases) {
    List<String> all = new ArrayList<>();
    all.add(trustDomain);
    all.addAll(aliases);
    return new TrustDomainBundle(all);
  }

  List<String> replaceTrustDomainAliases(List<String> principals) {
    List<String> out = new ArrayList<>();
    for (String principal : principals) {
      String[] parts = principal.split("/", -1);
      if (parts.length != 5 || parts[0].equals("*")) {
        out.add(principal);
        continue;
      }
      String td = parts[0];
      if (matchesAny(td) || td.equals("cluster.local")) {
        List<String> forAliases = new ArrayList<>();
        for (String alias : trustDomains) {
          String p =
              suffixMatch(alias, td)
                  ? principal
                  : alias + "/" + principal.substring(principal.indexOf('/') + 1);
          if (!forAliases.contains(p)) {
            forAliases.add(p);
          }
        }
        out.addAll(forAliases);
      } else {
        out.add(principal);
      }
    }
    return out;
  }

  List<String> expandTrustDomainAliases(List<String> values) {
    LinkedHashSet<String> out = new LinkedHashSet<>();
    for (String v : values) {
      if (trustDomains.contains(v)) {
        out.addAll(trustDomains);
      } else {
        out.add(v);
      }
    }
    return new ArrayList<>(out);
  }

  private boolean matchesAny(String td) {
    for (String s : trustDomains) {
      if (td.equals(s)
          || s.equals("*")
          || prefixMatch(td, s)
          || prefixMatch(s, td)
          || suffixMatch(td, s)
          || suffixMatch(s, td)) {
        return true;
      }
    }
    return false;
  }

  private static boolean prefixMatch(String a, String pattern) {
    return pattern.endsWith("*") && a.startsWith(pattern.substring(0, pattern.length() - 1));
  }

  private static boolean suffixMatch(String a, String pattern) {
    return pattern.startsWith("*") && a.endsWith(pattern.substring(1));
  }
}
