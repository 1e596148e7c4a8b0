package io.shopmesh.mesh.proxy.router;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.re2j.Pattern;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;

/**
 * A RouteConfiguration compiled for matching: virtual host selection by domain and first-match
 * route selection, with Envoy's semantics. Compiling throws IllegalArgumentException for config
 * that cannot be applied (the xDS client NACKs it).
 */
public final class RouteTable {
  public static final String FAULT_FILTER = "envoy.filters.http.fault";
  public static final String CORS_FILTER = "envoy.filters.http.cors";

  private final String name;
  private final Map<String, VHost> exact = new HashMap<>();
  private final List<Map.Entry<String, VHost>> suffixes = new ArrayList<>();
  private final List<Map.Entry<String, VHost>> prefixes = new ArrayList<>();
  private VHost star;
  public final HeaderOps requestOps;
  public final HeaderOps responseOps;

  public RouteTable(RouteConfiguration rc) {
    this.name = rc.getName();
    for (VirtualHost vh : rc.getVirtualHostsList()) {
      VHost v = new VHost(vh);
      for (String d : vh.getDomainsList()) {
        String dom = d.toLowerCase(Locale.ROOT);
        if (dom.equals("*")) {
          if (star == null) {
            star = v;
          }
        } else if (dom.startsWith("*")) {
          suffixes.add(Map.entry(dom.substring(1), v));
        } else if (dom.endsWith("*")) {
          prefixes.add(Map.entry(dom.substring(0, dom.length() - 1), v));
        } else if (exact.putIfAbsent(dom, v) != null) {
          throw new IllegalArgumentException(
              "Only unique values for domains are permitted. Duplicate"
                  + " entry of domain "
                  + dom
                  + " in route "
                  + rc.getName());
        }
      }
    }
    Comparator<Map.Entry<String, VHost>> longestFirst =
        Comparator.comparingInt(e -> -e.getKey().length());
    suffixes.sort(longestFirst);
    prefixes.sort(longestFirst);
    requestOps = HeaderOps.of(rc.getRequestHeadersToAddList(), rc.getRequestHeadersToRemoveList());
    responseOps =
        HeaderOps.of(rc.getResponseHeadersToAddList(), rc.getResponseHeadersToRemoveList());
  }

  public String name() {
    return name;
  }

  /** Envoy's order: exact, longest suffix wildcard, longest prefix wildcard, then "*". */
  public VHost virtualHost(String authority) {
    if (authority == null) {
      authority = "";
    }
    String host = authority.toLowerCase(Locale.ROOT);
    VHost v = lookup(host);
    if (v == null) {
      int colon = host.lastIndexOf(':');
      if (colon > 0 && host.indexOf(']') < colon) {
        v = lookup(host.substring(0, colon));
      }
    }
    return v != null ? v : star;
  }

  private VHost lookup(String host) {
    VHost v = exact.get(host);
    if (v != null) {
      return v;
    }
    for (Map.Entry<String, VHost> e : suffixes) {
      if (host.endsWith(e.getKey()) && host.length() > e.getKey().length()) {
        return e.getValue();
      }
    }
    for (Map.Entry<String, VHost> e : prefixes) {
      if (host.startsWith(e.getKey()) && host.length() > e.getKey().length()) {
        return e.getValue();
      }
    }
    return null;
  }

  public static long millis(Duration d) {
    return d.getSeconds() * 1000L + d.getNanos() / 1_000_000;
  }

  /** True with probability numerator/denominator. */
  public static boolean sample(FractionalPercent p) {
    long denom =
        switch (p.getDenominator()) {
          case TEN_THOUSAND -> 10_000L;
          case MILLION -> 1_000_000L;
          default -> 100L;
        };
    return ThreadLocalRandom.current().nextLong(denom) < p.getNumerator();
  }

  /** A compiled virtual host. */
  public static final class VHost {
    public final String name;
    public final List<CompiledRoute> routes = new ArrayList<>();
    public final HeaderOps requestOps;
    public final HeaderOps responseOps;
    public final RetrySpec retry;
    public final Cors cors;
    public final boolean includeAttemptCount;

    VHost(VirtualHost vh) {
      this.name = vh.getName();
      this.requestOps =
          HeaderOps.of(vh.getRequestHeadersToAddList(), vh.getRequestHeadersToRemoveList());
      this.responseOps =
          HeaderOps.of(vh.getResponseHeadersToAddList(), vh.getResponseHeadersToRemoveList());
      this.retry = vh.hasRetryPolicy() ? new RetrySpec(vh.getRetryPolicy()) : null;
      this.cors =
          Cors.of(
              vh.hasCors() ? vh.getCors() : null, vh.getTypedPerFilterConfigMap().get(CORS_FILTER));
      this.includeAttemptCount = vh.getIncludeRequestAttemptCount();
      for (Route r : vh.getRoutesList()) {
        routes.add(new CompiledRoute(r, this));
      }
    }

    public CompiledRoute match(RequestView req) {
      for (CompiledRoute r : routes) {
        if (r.matches(req)) {
          return r;
        }
      }
      return null;
    }
  }

  /** What route matching needs of a request. */
  public interface RequestView extends Matchers.HeaderLookup {
    /** The path without the query string. */
    String path();

    Map<String, List<String>> queryParams();
  }

  public enum Kind {
    ROUTE,
    REDIRECT,
    DIRECT_RESPONSE,
    NON_FORWARDING
  }

  /** One weighted cluster entry (or the single cluster). */
  public record ClusterChoice(
      String cluster, int weight, HeaderOps requestOps, HeaderOps responseOps) {}

  /** One request_mirror_policies entry. */
  public record Mirror(String cluster, FractionalPercent fraction) {}

  /** A compiled route. */
  public static final class CompiledRoute {
    public final String name;
    public final VHost vhost;
    public final Kind kind;
    // match
    private final Predicate<String> pathMatch;
    private final List<Predicate<Matchers.HeaderLookup>> headers = new ArrayList<>();
    private final List<Predicate<Map<String, List<String>>>> queries = new ArrayList<>();
    private final String matchedPrefix;
    // route action
    public final List<ClusterChoice> clusters = new ArrayList<>();
    private int totalWeight;
    public final String prefixRewrite;
    public final Pattern regexRewrite;
    public final String regexSubstitution;
    public final String hostRewrite;
    public final long timeoutMs;
    public final RetrySpec retry;
    public final List<HashPolicySpec> hashPolicies = new ArrayList<>();
    public final List<Mirror> mirrors = new ArrayList<>();
    public final HeaderOps requestOps;
    public final HeaderOps responseOps;
    public final RedirectAction redirect;
    public final int directStatus;
    public final String directBody;
    public final HTTPFault fault;
    public final Cors cors;

    CompiledRoute(Route r, VHost vh) {
      this.name = r.getName();
      this.vhost = vh;
      RouteMatch m = r.getMatch();
      boolean cs = !m.hasCaseSensitive() || m.getCaseSensitive().getValue();
      String prefixForRewrite = null;
      switch (m.getPathSpecifierCase()) {
        case PREFIX:
          {
            String p = m.getPrefix();
            prefixForRewrite = p;
            pathMatch =
                cs
                    ? s -> s.startsWith(p)
                    : s -> s.toLowerCase(Locale.ROOT).startsWith(p.toLowerCase(Locale.ROOT));
            break;
          }
        case PATH:
          {
            String p = m.getPath();
            pathMatch = cs ? p::equals : p::equalsIgnoreCase;
            break;
          }
        case SAFE_REGEX:
          {
            Pattern p = Matchers.regex(m.getSafeRegex().getRegex());
            pathMatch = p::matches;
            break;
          }
        case PATH_SEPARATED_PREFIX:
          {
            String p = m.getPathSeparatedPrefix();
            prefixForRewrite = p;
            pathMatch = s -> s.equals(p) || s.startsWith(p + "/");
            break;
          }
        default:
          throw new IllegalArgumentException(
              "route " + r.getName() + ": unsupported path specifier " + m.getPathSpecifierCase());
      }
      matchedPrefix = prefixForRewrite;
      for (HeaderMatcher h : m.getHeadersList()) {
        headers.add(Matchers.header(h));
      }
      for (QueryParameterMatcher q : m.getQueryParametersList()) {
        queries.add(Matchers.query(q));
      }
      requestOps = HeaderOps.of(r.getRequestHeadersToAddList(), r.getRequestHeadersToRemoveList());
      responseOps =
          HeaderOps.of(r.getResponseHeadersToAddList(), r.getResponseHeadersToRemoveList());
      Any faultAny = r.getTypedPerFilterConfigMap().get(FAULT_FILTER);
      fault = faultAny == null ? null : unpack(faultAny, HTTPFault.class, r.getName());
      RouteAction a = r.getRoute();
      cors =
          r.hasRoute() && a.hasCors()
              ? Cors.of(a.getCors(), null)
              : Cors.of(null, r.getTypedPerFilterConfigMap().get(CORS_FILTER));
      switch (r.getActionCase()) {
        case ROUTE:
          kind = Kind.ROUTE;
          switch (a.getClusterSpecifierCase()) {
            case CLUSTER:
              clusters.add(new ClusterChoice(a.getCluster(), 1, HeaderOps.NONE, HeaderOps.NONE));
              break;
            case WEIGHTED_CLUSTERS:
              for (WeightedCluster.ClusterWeight cw : a.getWeightedClusters().getClustersList()) {
                int w = cw.hasWeight() ? cw.getWeight().getValue() : 0;
                clusters.add(
                    new ClusterChoice(
                        cw.getName(),
                        w,
                        HeaderOps.of(
                            cw.getRequestHeadersToAddList(), cw.getRequestHeadersToRemoveList()),
                        HeaderOps.of(
                            cw.getResponseHeadersToAddList(),
                            cw.getResponseHeadersToRemoveList())));
              }
              break;
            default:
              throw new IllegalArgumentException(
                  "route "
                      + r.getName()
                      + ": unsupported cluster specifier "
                      + a.getClusterSpecifierCase());
          }
          for (ClusterChoice c : clusters) {
            totalWeight += c.weight();
          }
          if (clusters.size() > 1 && totalWeight <= 0) {
            throw new IllegalArgumentException(
                "route " + r.getName() + ": weighted clusters sum to 0");
          }
          prefixRewrite = a.getPrefixRewrite().isEmpty() ? null : a.getPrefixRewrite();
          if (a.hasRegexRewrite()) {
            regexRewrite = Matchers.regex(a.getRegexRewrite().getPattern().getRegex());
            regexSubstitution = a.getRegexRewrite().getSubstitution();
          } else {
            regexRewrite = null;
            regexSubstitution = null;
          }
          hostRewrite = a.getHostRewriteLiteral().isEmpty() ? null : a.getHostRewriteLiteral();
          // Envoy's default route timeout is 15s; Istio always sets it (0s = disabled).
          timeoutMs = a.hasTimeout() ? millis(a.getTimeout()) : 15_000;
          retry = a.hasRetryPolicy() ? new RetrySpec(a.getRetryPolicy()) : vh.retry;
          for (RouteAction.HashPolicy hp : a.getHashPolicyList()) {
            hashPolicies.add(new HashPolicySpec(hp));
          }
          for (RouteAction.RequestMirrorPolicy mp : a.getRequestMirrorPoliciesList()) {
            mirrors.add(
                new Mirror(
                    mp.getCluster(),
                    mp.hasRuntimeFraction()
                        ? mp.getRuntimeFraction().getDefaultValue()
                        : FractionalPercent.newBuilder().setNumerator(100).build()));
          }
          redirect = null;
          directStatus = 0;
          directBody = null;
          break;
        case REDIRECT:
          kind = Kind.REDIRECT;
          redirect = r.getRedirect();
          prefixRewrite = null;
          regexRewrite = null;
          regexSubstitution = null;
          hostRewrite = null;
          timeoutMs = 0;
          retry = null;
          directStatus = 0;
          directBody = null;
          break;
        case DIRECT_RESPONSE:
          kind = Kind.DIRECT_RESPONSE;
          directStatus = r.getDirectResponse().getStatus();
          directBody =
              r.getDirectResponse().hasBody()
                  ? (r.getDirectResponse().getBody().hasInlineString()
                      ? r.getDirectResponse().getBody().getInlineString()
                      : r.getDirectResponse().getBody().getInlineBytes().toStringUtf8())
                  : null;
          redirect = null;
          prefixRewrite = null;
          regexRewrite = null;
          regexSubstitution = null;
          hostRewrite = null;
          timeoutMs = 0;
          retry = null;
          break;
        case NON_FORWARDING_ACTION:
          kind = Kind.NON_FORWARDING;
          redirect = null;
          prefixRewrite = null;
          regexRewrite = null;
          regexSubstitution = null;
          hostRewrite = null;
          timeoutMs = 0;
          retry = null;
          directStatus = 0;
          directBody = null;
          break;
        default:
          throw new IllegalArgumentException(
              "route " + r.getName() + ": unsupported action " + r.getActionCase());
      }
    }

    boolean matches(RequestView req) {
      if (!pathMatch.test(req.path())) {
        return false;
      }
      for (Predicate<Matchers.HeaderLookup> h : headers) {
        if (!h.test(req)) {
          return false;
        }
      }
      if (!queries.isEmpty()) {
        Map<String, List<String>> q = req.queryParams();
        for (Predicate<Map<String, List<String>>> p : queries) {
          if (!p.test(q)) {
            return false;
          }
        }
      }
      return true;
    }

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

    public String matchedPrefix() {
      return matchedPrefix;
    }
  }

  /** Compiled retry_policy. */
  public static final class RetrySpec {
    public final boolean on5xx;
    public final boolean onGatewayError;
    public final boolean onConnectFailure;
    public final boolean onRefusedStream;
    public final boolean onReset;
    public final boolean onRetriable4xx;
    public final boolean onRetriableStatusCodes;
    public final boolean onUnavailable;
    public final boolean onCancelled;
    public final List<Integer> retriableStatusCodes;
    public final int numRetries;
    public final long perTryTimeoutMs;
    public final boolean previousHosts;
    public final int hostSelectionAttempts;
    public final long baseIntervalMs;
    public final long maxIntervalMs;

    public RetrySpec(RetryPolicy p) {
      boolean a = false,
          b = false,
          c = false,
          d = false,
          e = false,
          f = false,
          g = false,
          h = false,
          i = false;
      for (String s : p.getRetryOn().split(",")) {
        switch (s.trim()) {
          case "5xx" -> a = true;
          case "gateway-error" -> b = true;
          case "connect-failure" -> c = true;
          case "refused-stream" -> d = true;
          case "reset" -> e = true;
          case "retriable-4xx" -> f = true;
          case "retriable-status-codes" -> g = true;
          case "unavailable" -> h = true;
          case "cancelled" -> i = true;
          default -> {}
        }
      }
      on5xx = a;
      onGatewayError = b;
      onConnectFailure = c;
      onRefusedStream = d;
      onReset = e;
      onRetriable4xx = f;
      onRetriableStatusCodes = g;
      onUnavailable = h;
      onCancelled = i;
      retriableStatusCodes = List.copyOf(p.getRetriableStatusCodesList());
      numRetries = p.hasNumRetries() ? p.getNumRetries().getValue() : 1;
      perTryTimeoutMs = p.hasPerTryTimeout() ? millis(p.getPerTryTimeout()) : 0;
      boolean prev = false;
      for (RetryPolicy.RetryHostPredicate rp : p.getRetryHostPredicateList()) {
        if (rp.getName().contains("previous_hosts")) {
          prev = true;
        }
      }
      previousHosts = prev;
      hostSelectionAttempts = (int) Math.max(1, p.getHostSelectionRetryMaxAttempts());
      baseIntervalMs =
          p.hasRetryBackOff() && p.getRetryBackOff().hasBaseInterval()
              ? Math.max(1, millis(p.getRetryBackOff().getBaseInterval()))
              : 25;
      maxIntervalMs =
          p.hasRetryBackOff() && p.getRetryBackOff().hasMaxInterval()
              ? millis(p.getRetryBackOff().getMaxInterval())
              : baseIntervalMs * 10;
    }

    /** Should this upstream response status be retried? */
    public boolean retriableStatus(int status) {
      if (on5xx && status >= 500) {
        return true;
      }
      if (onGatewayError && (status == 502 || status == 503 || status == 504)) {
        return true;
      }
      if (onRetriable4xx && status == 409) {
        return true;
      }
      return onRetriableStatusCodes && retriableStatusCodes.contains(status);
    }

    /** A per-try timeout counts as a 504 from upstream. */
    public boolean retriableTimeout() {
      return on5xx || onGatewayError;
    }

    public boolean retriableConnectFailure() {
      return onConnectFailure || on5xx || onGatewayError || onReset;
    }

    public boolean retriableReset() {
      return onReset || on5xx || onGatewayError;
    }

    /** Envoy's jittered backoff: random in [0, (2^n - 1) * base) for retry n, capped at max. */
    public long backoffMs(int retryNumber) {
      long ceiling = ((1L << Math.min(20, Math.max(1, retryNumber))) - 1) * baseIntervalMs;
      return Math.min(ThreadLocalRandom.current().nextLong(Math.max(1, ceiling)), maxIntervalMs);
    }
  }

  /** Compiled hash_policy entry. */
  public static final class HashPolicySpec {
    public final String header;
    public final String cookie;
    public final String queryParam;
    public final boolean sourceIp;
    public final boolean terminal;

    HashPolicySpec(RouteAction.HashPolicy hp) {
      header = hp.hasHeader() ? hp.getHeader().getHeaderName().toLowerCase(Locale.ROOT) : null;
      cookie = hp.hasCookie() ? hp.getCookie().getName() : null;
      queryParam = hp.hasQueryParameter() ? hp.getQueryParameter().getName() : null;
      sourceIp = hp.hasConnectionProperties() && hp.getConnectionProperties().getSourceIp();
      terminal = hp.getTerminal();
    }
  }

  static <T extends com.google.protobuf.Message> T unpack(Any any, Class<T> type, String where) {
    try {
      return any.unpack(type);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException(
          where + ": cannot unpack " + any.getTypeUrl() + ": " + e.getMessage());
    }
  }
}
