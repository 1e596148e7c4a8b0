package io.shopmesh.mesh.proxy.router;

import com.google.re2j.Pattern;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.shopmesh.mesh.proxy.router.RouteTable.ClusterChoice;
import io.shopmesh.mesh.proxy.router.RouteTable.HashPolicySpec;
import io.shopmesh.mesh.proxy.router.RouteTable.Mirror;
import io.shopmesh.mesh.proxy.router.RouteTable.RetrySpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** What a matched route does, as Envoy's Route.action oneof: forward, redirect or answer. */
public sealed interface RouteEntryAction {

  /** route: forward to a (weighted) cluster with rewrites, timeout, retries, hashing, mirrors. */
  record Forward(
      List<ClusterChoice> clusters,
      int totalWeight,
      String prefixRewrite,
      String matchedPrefix,
      Pattern regexRewrite,
      String regexSubstitution,
      String hostRewrite,
      long timeoutMs,
      RetrySpec retry,
      List<HashPolicySpec> hashPolicies,
      List<Mirror> mirrors)
      implements RouteEntryAction {

    /** Weighted clusters are chosen at random per request, as Envoy does. */
    public ClusterChoice pickCluster() {
      if (clusters.size() == 1) {
        return clusters.get(0);
      }
      int n = ThreadLocalRandom.current().nextInt(totalWeight);
      for (ClusterChoice c : clusters) {
        n -= c.weight();
        if (n < 0) {
          return c;
        }
      }
      return clusters.get(clusters.size() - 1);
    }

    /** Applies prefix or regex rewrite to a path (with query); null when unchanged. */
    public String rewritePath(String pathAndQuery) {
      int q = pathAndQuery.indexOf('?');
      String path = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
      String query = q < 0 ? "" : pathAndQuery.substring(q);
      if (prefixRewrite != null && matchedPrefix != null) {
        String rest =
            path.length() >= matchedPrefix.length() ? path.substring(matchedPrefix.length()) : "";
        return prefixRewrite + rest + query;
      }
      if (prefixRewrite != null) {
        return prefixRewrite + query;
      }
      if (regexRewrite != null) {
        return regexRewrite.matcher(path).replaceAll(envoySubstitution(regexSubstitution)) + query;
      }
      return null;
    }

    /** Envoy uses \1 for groups; re2j uses $1. */
    private static String envoySubstitution(String s) {
      return s.replaceAll("\\\\(\\d)", "\\$$1");
    }
  }

  /** redirect: answer 301/302/303/307/308 with a Location built from the request. */
  record Redirect(RedirectAction redirect, String matchedPrefix) implements RouteEntryAction {
    /**
     * The Location header for a request, as Envoy's RouteEntryImplBase::newUri: the scheme is
     * https_redirect / scheme_redirect, else the request's ({@code requestScheme}, the original
     * URL's :scheme); the host is host_redirect (without the request's port), else the request's
     * authority, whose port is dropped when port_redirect replaces it or when the scheme changes
     * and the port was the old scheme's default (":80" for http, ":443" for https); the path is
     * path_redirect (keeping the request's query unless path_redirect has its own), or the prefix
     * rewrite, or the request's; strip_query drops the query (not one path_redirect gives).
     */
    public String location(String requestScheme, String authority, String pathAndQuery) {
      RedirectAction r = redirect;
      String scheme =
          r.getHttpsRedirect()
              ? "https"
              : (!r.getSchemeRedirect().isEmpty() ? r.getSchemeRedirect() : requestScheme);
      String newPort = r.getPortRedirect() > 0 ? ":" + r.getPortRedirect() : "";
      String host =
          !r.getHostRedirect().isEmpty()
              ? r.getHostRedirect()
              : requestHost(authority, scheme, requestScheme, !newPort.isEmpty());
      int q = pathAndQuery.indexOf('?');
      String query = q >= 0 ? pathAndQuery.substring(q) : "";
      boolean redirectHasQuery = r.getPathRedirect().contains("?");
      String path = pathAndQuery;
      if (!r.getPathRedirect().isEmpty()) {
        path = redirectHasQuery ? r.getPathRedirect() : r.getPathRedirect() + query;
      } else if (!r.getPrefixRewrite().isEmpty() && matchedPrefix != null) {
        path =
            r.getPrefixRewrite()
                + pathAndQuery.substring(Math.min(pathAndQuery.length(), matchedPrefix.length()));
      }
      if (r.getStripQuery() && !redirectHasQuery) {
        int pq = path.indexOf('?');
        if (pq >= 0) {
          path = path.substring(0, pq);
        }
      }
      return scheme + "://" + host + newPort + path;
    }

    /** Envoy's processRequestHost: the request's authority, its port dropped when it must be. */
    static String requestHost(
        String authority, String newScheme, String requestScheme, boolean newPort) {
      if (authority == null || authority.isEmpty()) {
        return "";
      }
      int end;
      if (authority.charAt(0) == '[') {
        end = authority.lastIndexOf("]:");
        end = end < 0 ? -1 : end + 1;
      } else {
        end = authority.lastIndexOf(':');
      }
      if (end < 0) {
        return authority;
      }
      String port = authority.substring(end);
      boolean remove = newPort;
      if (!newScheme.equals(requestScheme)) {
        remove |= "https".equals(requestScheme) && port.equals(":443");
        remove |= "http".equals(requestScheme) && port.equals(":80");
      }
      return remove ? authority.substring(0, end) : authority;
    }

    public int status() {
      return switch (redirect.getResponseCode()) {
        case FOUND -> 302;
        case SEE_OTHER -> 303;
        case TEMPORARY_REDIRECT -> 307;
        case PERMANENT_REDIRECT -> 308;
        default -> 301;
      };
    }
  }

  /** direct_response: answer with a fixed status and optional body. */
  record DirectResponse(int status, String body) implements RouteEntryAction {}

  /** non_forwarding_action: answer 200 with no body. */
  record NonForwarding() implements RouteEntryAction {}

  /** Compiles a Route's action; vhost retry policy applies when the route has none. */
  static RouteEntryAction of(Route r, RetrySpec vhostRetry, String matchedPrefix) {
    return switch (r.getActionCase()) {
      case ROUTE -> forward(r, r.getRoute(), vhostRetry, matchedPrefix);
      case REDIRECT -> new Redirect(r.getRedirect(), matchedPrefix);
      case DIRECT_RESPONSE -> {
        var d = r.getDirectResponse();
        String body =
            d.hasBody()
                ? (d.getBody().hasInlineString()
                    ? d.getBody().getInlineString()
                    : d.getBody().getInlineBytes().toStringUtf8())
                : null;
        yield new DirectResponse(d.getStatus(), body);
      }
      case NON_FORWARDING_ACTION -> new NonForwarding();
      default ->
          throw new IllegalArgumentException(
              "route " + r.getName() + ": unsupported action " + r.getActionCase());
    };
  }

  private static Forward forward(
      Route r, RouteAction a, RetrySpec vhostRetry, String matchedPrefix) {
    List<ClusterChoice> clusters = new ArrayList<>();
    switch (a.getClusterSpecifierCase()) {
      case CLUSTER -> clusters.add(ClusterChoice.of(a.getCluster()));
      case WEIGHTED_CLUSTERS -> {
        for (WeightedCluster.ClusterWeight cw : a.getWeightedClusters().getClustersList()) {
          int w = cw.hasWeight() ? cw.getWeight().getValue() : 0;
          clusters.add(
              new ClusterChoice(
                  cw.getName(),
                  w,
                  HeaderOps.of(cw.getRequestHeadersToAddList(), cw.getRequestHeadersToRemoveList()),
                  HeaderOps.of(
                      cw.getResponseHeadersToAddList(), cw.getResponseHeadersToRemoveList()),
                  cw.getHostRewriteLiteral().isEmpty() ? null : cw.getHostRewriteLiteral()));
        }
      }
      default ->
          throw new IllegalArgumentException(
              "route "
                  + r.getName()
                  + ": unsupported cluster specifier "
                  + a.getClusterSpecifierCase());
    }
    int totalWeight = 0;
    for (ClusterChoice c : clusters) {
      totalWeight += c.weight();
    }
    if (clusters.size() > 1 && totalWeight <= 0) {
      throw new IllegalArgumentException("route " + r.getName() + ": weighted clusters sum to 0");
    }
    Pattern regex = null;
    String substitution = null;
    if (a.hasRegexRewrite()) {
      regex = Matchers.regex(a.getRegexRewrite().getPattern().getRegex());
      substitution = a.getRegexRewrite().getSubstitution();
    }
    List<HashPolicySpec> hashPolicies = new ArrayList<>();
    for (RouteAction.HashPolicy hp : a.getHashPolicyList()) {
      hashPolicies.add(new HashPolicySpec(hp));
    }
    List<Mirror> mirrors = new ArrayList<>();
    for (RouteAction.RequestMirrorPolicy mp : a.getRequestMirrorPoliciesList()) {
      mirrors.add(
          new Mirror(
              mp.getCluster(),
              mp.hasRuntimeFraction()
                  ? mp.getRuntimeFraction().getDefaultValue()
                  : FractionalPercent.newBuilder().setNumerator(100).build()));
    }
    return new Forward(
        List.copyOf(clusters),
        totalWeight,
        a.getPrefixRewrite().isEmpty() ? null : a.getPrefixRewrite(),
        matchedPrefix,
        regex,
        substitution,
        a.getHostRewriteLiteral().isEmpty() ? null : a.getHostRewriteLiteral(),
        // Envoy's default route timeout is 15s; Istio always sets it (0s = disabled).
        a.hasTimeout() ? RouteTable.millis(a.getTimeout()) : 15_000,
        a.hasRetryPolicy() ? new RetrySpec(a.getRetryPolicy()) : vhostRetry,
        List.copyOf(hashPolicies),
        List.copyOf(mirrors));
  }
}
