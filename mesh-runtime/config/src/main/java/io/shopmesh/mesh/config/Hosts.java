package io.shopmesh.mesh.config;

import java.util.regex.Pattern;

/** Host names as Istio treats them: short names, FQDNs, wildcards, namespace-qualified names. */
public final class Hosts {

  private static final Pattern DNS1123_LABEL =
      Pattern.compile("^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$");
  private static final Pattern WILDCARD_LABEL =
      Pattern.compile("^(\\*|(\\*|\\*-)?[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)$");

  private Hosts() {}

  public static boolean isDns1123Label(String s) {
    return s != null && s.length() <= 63 && DNS1123_LABEL.matcher(s).matches();
  }

  public static boolean isWildcardDns1123Label(String s) {
    return s != null && s.length() <= 63 && WILDCARD_LABEL.matcher(s).matches();
  }

  /**
   * The full name of a host as written in a resource of {@code namespace}: a short name ({@code
   * product-service}) is a Kubernetes Service in that namespace ({@code
   * product-service.default.svc.cluster.local}); names with a dot and wildcards stay as they are,
   * as in Istio's {@code ResolveShortnameToFQDN}.
   */
  public static String fqdn(String host, String namespace) {
    if (host == null || host.isEmpty() || host.contains(".") || host.equals("*")) {
      return host;
    }
    if (host.startsWith("*")) {
      return host;
    }
    return host + "." + namespace + "." + MeshConfig.DOMAIN_SUFFIX;
  }

  /** Istio's host.Name.Matches: do the two (possibly wildcard) hosts overlap? */
  public static boolean matches(String a, String b) {
    boolean aw = a.startsWith("*");
    boolean bw = b.startsWith("*");
    if (aw && bw) {
      String as = a.substring(1);
      String bs = b.substring(1);
      return as.length() > bs.length() ? as.endsWith(bs) : bs.endsWith(as);
    } else if (aw) {
      return b.endsWith(a.substring(1));
    } else if (bw) {
      return a.endsWith(b.substring(1));
    }
    return a.equals(b);
  }

  /** Istio's host.Name.SubsetOf: is every name matched by {@code a} also matched by {@code b}? */
  public static boolean subsetOf(String a, String b) {
    if (b.startsWith("*")) {
      if (a.startsWith("*")) {
        return a.substring(1).endsWith(b.substring(1));
      }
      return a.endsWith(b.substring(1));
    }
    return !a.startsWith("*") && a.equals(b);
  }
}
