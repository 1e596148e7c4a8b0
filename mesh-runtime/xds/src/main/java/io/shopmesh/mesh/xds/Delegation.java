package io.shopmesh.mesh.xds;

import io.fabric8.istio.api.api.networking.v1alpha3.Delegate;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPMatchRequest;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPMirrorPolicy;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRoute;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRouteDestination;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatch;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatchExact;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatchPrefix;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatchRegex;
import io.fabric8.istio.api.networking.v1.VirtualService;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.shopmesh.mesh.config.Hosts;
import io.shopmesh.mesh.config.Located;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * VirtualService delegation as Istio merges it (pilot {@code model/virtualservice_controller.go}
 * mergeVirtualServices and {@code model/virtualservice.go} MergeHTTPRoutes): a VirtualService
 * without hosts is a delegate and applies to nothing by itself; an http rule of a root
 * VirtualService with {@code delegate: {name, namespace}} is replaced by the delegate's http rules,
 * each merged with the root rule (its matches must be a subset of one of the root's, or the
 * delegate rule is dropped; the root's timeout, retries, fault, headers, CORS, mirror, rewrite and
 * direct response fill what the delegate rule leaves unset). A delegate that does not exist, or is
 * not exported to the root's namespace, drops the root rule. One level only: a delegate's own
 * {@code delegate} is a validation error.
 */
final class Delegation {

  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  private Delegation() {}

  /**
   * The VirtualServices as the translator sees them: delegates (no hosts) left out, each root with
   * its delegated rules merged in (a new object; the others are returned as they are), in config
   * order.
   */
  static List<Located<VirtualService>> merge(List<Located<VirtualService>> all) {
    Map<String, Located<VirtualService>> delegates = new LinkedHashMap<>();
    for (Located<VirtualService> vs : all) {
      if (isDelegate(vs) && vs.object().getSpec() != null) {
        delegates.put(vs.namespace() + "/" + vs.name(), vs);
      }
    }
    List<Located<VirtualService>> out = new ArrayList<>();
    for (Located<VirtualService> vs : all) {
      if (isDelegate(vs)) {
        continue;
      }
      out.add(isRoot(vs) ? mergeRoot(vs, delegates) : vs);
    }
    return out;
  }

  static boolean isDelegate(Located<VirtualService> vs) {
    return vs.object().getSpec() == null
        || vs.object().getSpec().getHosts() == null
        || vs.object().getSpec().getHosts().isEmpty();
  }

  private static boolean isRoot(Located<VirtualService> vs) {
    List<HTTPRoute> http = vs.object().getSpec().getHttp();
    return http != null && http.stream().anyMatch(r -> r != null && r.getDelegate() != null);
  }

  private static Located<VirtualService> mergeRoot(
      Located<VirtualService> root, Map<String, Located<VirtualService>> delegates) {
    VirtualService copy = SERIALIZATION.clone(root.object());
    List<HTTPRoute> merged = new ArrayList<>();
    for (HTTPRoute r : copy.getSpec().getHttp()) {
      Delegate d = r.getDelegate();
      if (d == null) {
        merged.add(r);
        continue;
      }
      String ns =
          d.getNamespace() == null || d.getNamespace().isEmpty()
              ? root.namespace()
              : d.getNamespace();
      Located<VirtualService> delegate = delegates.get(ns + "/" + d.getName());
      if (delegate == null || !exportedTo(delegate, root.namespace())) {
        continue;
      }
      VirtualService dc = SERIALIZATION.clone(delegate.object());
      r.setDelegate(null);
      for (HTTPRoute sub :
          dc.getSpec().getHttp() == null ? List.<HTTPRoute>of() : dc.getSpec().getHttp()) {
        resolveShortNames(sub, delegate.namespace());
        HTTPRoute m = mergeRoute(r, sub);
        if (m != null) {
          merged.add(m);
        }
      }
    }
    copy.getSpec().setHttp(merged);
    return new Located<>(copy, root.source());
  }

  /**
   * Istio's delegate visibility: exportTo {@code *} (the default), {@code .} or the root's
   * namespace.
   */
  static boolean exportedTo(Located<VirtualService> delegate, String namespace) {
    List<String> exportTo = delegate.object().getSpec().getExportTo();
    if (exportTo == null || exportTo.isEmpty()) {
      return true;
    }
    for (String e : exportTo) {
      String v = ".".equals(e) ? delegate.namespace() : e;
      if ("*".equals(v) || v.equals(namespace)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Istio resolves a delegate's short names in the delegate's namespace
   * (ResolveVirtualServiceShortnames on the delegate), before its rules join the root's.
   */
  private static void resolveShortNames(HTTPRoute r, String namespace) {
    if (r.getRoute() != null) {
      for (HTTPRouteDestination d : r.getRoute()) {
        if (d != null && d.getDestination() != null) {
          d.getDestination().setHost(Hosts.fqdn(d.getDestination().getHost(), namespace));
        }
      }
    }
    if (r.getMirror() != null) {
      r.getMirror().setHost(Hosts.fqdn(r.getMirror().getHost(), namespace));
    }
    if (r.getMirrors() != null) {
      for (HTTPMirrorPolicy m : r.getMirrors()) {
        if (m != null && m.getDestination() != null) {
          m.getDestination().setHost(Hosts.fqdn(m.getDestination().getHost(), namespace));
        }
      }
    }
    if (r.getMatch() != null) {
      for (HTTPMatchRequest m : r.getMatch()) {
        if (m != null && m.getGateways() != null) {
          List<String> gws = new ArrayList<>();
          for (String g : m.getGateways()) {
            gws.add("mesh".equals(g) || g.contains("/") ? g : namespace + "/" + g);
          }
          m.setGateways(gws);
        }
      }
    }
  }

  /** Istio's mergeHTTPRoute: null when the delegate rule's matches conflict with the root's. */
  static HTTPRoute mergeRoute(HTTPRoute root, HTTPRoute delegate) {
    List<HTTPMatchRequest> matches = mergeMatches(root.getMatch(), delegate.getMatch());
    if (matches == null) {
      return null;
    }
    delegate.setMatch(matches);
    delegate.setName(joinNames(root.getName(), delegate.getName()));
    if (delegate.getRewrite() == null) {
      delegate.setRewrite(root.getRewrite());
    }
    if (delegate.getDirectResponse() == null) {
      delegate.setDirectResponse(root.getDirectResponse());
    }
    if (delegate.getTimeout() == null) {
      delegate.setTimeout(root.getTimeout());
    }
    if (delegate.getRetries() == null) {
      delegate.setRetries(root.getRetries());
    }
    if (delegate.getFault() == null) {
      delegate.setFault(root.getFault());
    }
    if (delegate.getMirror() == null) {
      delegate.setMirror(root.getMirror());
    }
    if (delegate.getMirrorPercent() == null) {
      delegate.setMirrorPercent(root.getMirrorPercent());
    }
    if (delegate.getMirrorPercentage() == null) {
      delegate.setMirrorPercentage(root.getMirrorPercentage());
    }
    if (delegate.getCorsPolicy() == null) {
      delegate.setCorsPolicy(root.getCorsPolicy());
    }
    if (delegate.getMirrors() == null) {
      delegate.setMirrors(root.getMirrors());
    }
    if (delegate.getHeaders() == null) {
      delegate.setHeaders(root.getHeaders());
    }
    return delegate;
  }

  /** Istio's name join: the delegate's name, prefixed by the root's ({@code root-delegate}). */
  private static String joinNames(String root, String delegate) {
    if (delegate == null || delegate.isEmpty()) {
      return root;
    }
    return root == null || root.isEmpty() ? delegate : root + "-" + delegate;
  }

  /**
   * Istio's mergeHTTPMatchRequests: every delegate match must be within at least one root match (it
   * is merged with each root match it does not conflict with); null when one is not.
   */
  static List<HTTPMatchRequest> mergeMatches(
      List<HTTPMatchRequest> root, List<HTTPMatchRequest> delegate) {
    if (root == null || root.isEmpty()) {
      return delegate;
    }
    if (delegate == null || delegate.isEmpty()) {
      return root;
    }
    List<HTTPMatchRequest> out = new ArrayList<>();
    for (HTTPMatchRequest sub : delegate) {
      boolean found = false;
      for (HTTPMatchRequest r : root) {
        if (conflict(r, sub)) {
          continue;
        }
        out.add(mergeMatch(r, sub));
        found = true;
      }
      if (!found) {
        return null;
      }
    }
    return out.isEmpty() ? null : out;
  }

  private static HTTPMatchRequest mergeMatch(HTTPMatchRequest root, HTTPMatchRequest delegate) {
    HTTPMatchRequest out = SERIALIZATION.clone(delegate);
    out.setName(joinNames(root.getName(), delegate.getName()));
    if (out.getUri() == null) {
      out.setUri(root.getUri());
    }
    if (out.getScheme() == null) {
      out.setScheme(root.getScheme());
    }
    if (out.getMethod() == null) {
      out.setMethod(root.getMethod());
    }
    if (out.getAuthority() == null) {
      out.setAuthority(root.getAuthority());
    }
    out.setHeaders(union(root.getHeaders(), delegate.getHeaders()));
    out.setWithoutHeaders(union(root.getWithoutHeaders(), delegate.getWithoutHeaders()));
    out.setQueryParams(union(root.getQueryParams(), delegate.getQueryParams()));
    if (out.getPort() == null || out.getPort() == 0) {
      out.setPort(root.getPort());
    }
    out.setSourceLabels(union(root.getSourceLabels(), delegate.getSourceLabels()));
    if (out.getSourceNamespace() == null || out.getSourceNamespace().isEmpty()) {
      out.setSourceNamespace(root.getSourceNamespace());
    }
    if (out.getGateways() == null || out.getGateways().isEmpty()) {
      out.setGateways(root.getGateways());
    }
    if (out.getStatPrefix() == null || out.getStatPrefix().isEmpty()) {
      out.setStatPrefix(root.getStatPrefix());
    }
    return out;
  }

  /** Both maps' entries, the delegate's winning (Go's maps.MergeCopy); null when both are empty. */
  private static <V> Map<String, V> union(Map<String, V> root, Map<String, V> delegate) {
    if ((root == null || root.isEmpty()) && (delegate == null || delegate.isEmpty())) {
      return null;
    }
    Map<String, V> out = new LinkedHashMap<>();
    if (root != null) {
      out.putAll(root);
    }
    if (delegate != null) {
      out.putAll(delegate);
    }
    return out;
  }

  /** Istio's hasConflict: can the delegate match not be within the root match? */
  static boolean conflict(HTTPMatchRequest root, HTTPMatchRequest leaf) {
    if (stringConflict(root.getUri(), leaf.getUri())
        || stringConflict(root.getScheme(), leaf.getScheme())
        || stringConflict(root.getMethod(), leaf.getMethod())
        || stringConflict(root.getAuthority(), leaf.getAuthority())) {
      return true;
    }
    if (mapConflict(root.getHeaders(), leaf.getHeaders())
        || mapConflict(root.getWithoutHeaders(), leaf.getWithoutHeaders())
        || mapConflict(root.getQueryParams(), leaf.getQueryParams())) {
      return true;
    }
    if (Boolean.TRUE.equals(root.getIgnoreUriCase())
        != Boolean.TRUE.equals(leaf.getIgnoreUriCase())) {
      return true;
    }
    long rootPort = root.getPort() == null ? 0 : root.getPort();
    long leafPort = leaf.getPort() == null ? 0 : leaf.getPort();
    if (rootPort > 0 && leafPort > 0 && rootPort != leafPort) {
      return true;
    }
    String rootNs = root.getSourceNamespace();
    if (rootNs != null && !rootNs.isEmpty() && !rootNs.equals(leaf.getSourceNamespace())) {
      return true;
    }
    if (leaf.getSourceLabels() != null) {
      for (Map.Entry<String, String> e : leaf.getSourceLabels().entrySet()) {
        String v = root.getSourceLabels() == null ? null : root.getSourceLabels().get(e.getKey());
        if (v != null && !v.equals(e.getValue())) {
          return true;
        }
      }
    }
    List<String> rootGws = root.getGateways();
    List<String> leafGws = leaf.getGateways();
    if (rootGws != null && !rootGws.isEmpty() && leafGws != null && !leafGws.isEmpty()) {
      if (rootGws.size() < leafGws.size()) {
        return true;
      }
      Set<String> set = new HashSet<>(rootGws);
      for (String g : leafGws) {
        if (!set.contains(g)) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean mapConflict(Map<String, StringMatch> root, Map<String, StringMatch> leaf) {
    if (leaf == null) {
      return false;
    }
    for (Map.Entry<String, StringMatch> e : leaf.entrySet()) {
      if (stringConflict(root == null ? null : root.get(e.getKey()), e.getValue())) {
        return true;
      }
    }
    return false;
  }

  /** Istio's stringMatchConflict. */
  static boolean stringConflict(StringMatch root, StringMatch leaf) {
    if (root == null || leaf == null) {
      return false;
    }
    String rootRegex = regex(root);
    String leafRegex = regex(leaf);
    String rootExact = exact(root);
    String leafExact = exact(leaf);
    String rootPrefix = prefix(root);
    String leafPrefix = prefix(leaf);
    if (!rootRegex.isEmpty()
        && (!leafRegex.isEmpty() || !leafPrefix.isEmpty() || !leafExact.isEmpty())) {
      return true;
    }
    if (!leafRegex.isEmpty()
        && (!rootRegex.isEmpty() || !rootPrefix.isEmpty() || !rootExact.isEmpty())) {
      return true;
    }
    if (!rootExact.isEmpty()) {
      if (!leafPrefix.isEmpty()) {
        return true;
      }
      return !Objects.equals(leafExact, rootExact);
    }
    if (!rootPrefix.isEmpty()) {
      if (!leafPrefix.isEmpty()) {
        return !leafPrefix.startsWith(rootPrefix);
      }
      if (!leafExact.isEmpty()) {
        return !leafExact.startsWith(rootPrefix);
      }
    }
    return true;
  }

  private static String exact(StringMatch s) {
    return s.getMatchType() instanceof StringMatchExact e && e.getExact() != null
        ? e.getExact()
        : "";
  }

  private static String prefix(StringMatch s) {
    return s.getMatchType() instanceof StringMatchPrefix p && p.getPrefix() != null
        ? p.getPrefix()
        : "";
  }

  private static String regex(StringMatch s) {
    return s.getMatchType() instanceof StringMatchRegex r && r.getRegex() != null
        ? r.getRegex()
        : "";
  }
}
