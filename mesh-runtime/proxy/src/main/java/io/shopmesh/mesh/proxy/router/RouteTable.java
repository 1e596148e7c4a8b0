package io.shopmesh.mesh.proxy.router;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.shopmesh.mesh.proxy.trace.DecisionRecord;
import io.shopmesh.mesh.wire.IstioMetadata;
import io.shopmesh.mesh.wire.SourceMetadata;
import io.shopmesh.mesh.wire.Wellknown;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A RouteConfiguration compiled for matching: virtual host selection by domain and first-match
 * route selection, with Envoy's semantics. Compiling throws IllegalArgumentException for config
 * that cannot be applied (the xDS client NACKs it).
 */
public final class RouteTable {

  private final String name;
  private final Map<String, VHost> exact = new HashMap<>();
  private final List<Map.Entry<String, VHost>> suffixes = new ArrayList<>();
  private final List<Map.Entry<String, VHost>> prefixes = new ArrayList<>();
  private VHost star;
  private final boolean ignorePortInHostMatching;
  public final HeaderOps requestOps;
  public final HeaderOps responseOps;

  public RouteTable(RouteConfiguration rc) {
    this.name = rc.getName();
    this.ignorePortInHostMatching = rc.getIgnorePortInHostMatching();
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

  /**
   * Envoy's order: exact, longest suffix wildcard, longest prefix wildcard, then "*". The authority
   * is matched as it is, port included, unless the route config sets {@code
   * ignore_port_in_host_matching}: then a port is stripped first (Envoy's stripPortFromHost).
   */
  public VHost virtualHost(String authority) {
    if (authority == null) {
      authority = "";
    }
    String host = authority.toLowerCase(Locale.ROOT);
    if (ignorePortInHostMatching) {
      host = stripPort(host);
    }
    VHost v = lookup(host);
    return v != null ? v : star;
  }

  /**
   * The host without its port, as Envoy's getPortStart finds it: from the last {@code ':'} unless a
   * {@code ']'} follows it ({@code [v6]:port} keeps its brackets).
   */
  static String stripPort(String host) {
    int colon = host.lastIndexOf(':');
    if (colon < 0 || host.lastIndexOf(']') > colon) {
      return host;
    }
    return host.substring(0, colon);
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
    private final List<CompiledRoute> routes;
    public final HeaderOps requestOps;
    public final HeaderOps responseOps;
    public final RetrySpec retry;
    public final Cors cors;
    public final boolean includeAttemptCount;
    private final VirtualHost.TlsRequirementType requireTls;

    VHost(VirtualHost vh) {
      this.name = vh.getName();
      this.requireTls = vh.getRequireTls();
      this.requestOps =
          HeaderOps.of(vh.getRequestHeadersToAddList(), vh.getRequestHeadersToRemoveList());
      this.responseOps =
          HeaderOps.of(vh.getResponseHeadersToAddList(), vh.getResponseHeadersToRemoveList());
      this.retry = vh.hasRetryPolicy() ? new RetrySpec(vh.getRetryPolicy()) : null;
      this.cors =
          Cors.of(
              vh.hasCors() ? vh.getCors() : null,
              vh.getTypedPerFilterConfigMap().get(Wellknown.CORS));
      this.includeAttemptCount = vh.getIncludeRequestAttemptCount();
      List<CompiledRoute> rs = new ArrayList<>();
      for (Route r : vh.getRoutesList()) {
        rs.add(new CompiledRoute(r, this));
      }
      this.routes = List.copyOf(rs);
    }

    public List<CompiledRoute> routes() {
      return routes;
    }

    /**
     * Envoy's require_tls: a request that did not arrive over TLS gets the SSL redirect (301 to
     * https) whatever the routes. {@code ALL} and {@code EXTERNAL_ONLY} are the same here: the
     * proxy trusts no downstream hop, so every request counts as external and its protocol is the
     * connection's.
     */
    public boolean redirectsToTls(boolean secure) {
      return !secure
          && (requireTls == VirtualHost.TlsRequirementType.ALL
              || requireTls == VirtualHost.TlsRequirementType.EXTERNAL_ONLY);
    }

    /** {@link #match}, noting each route considered in the decision record. */
    public CompiledRoute matchExplained(RequestView req, DecisionRecord rec) {
      for (CompiledRoute r : routes) {
        String why = r.match.whyNot(req);
        if (why == null) {
          rec.routeTaken(r.name, r.source);
          return r;
        }
        rec.routeMissed(r.name, why);
      }
      return null;
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

  /** One weighted cluster entry (or the single cluster). */
  public record ClusterChoice(
      String cluster, int weight, HeaderOps requestOps, HeaderOps responseOps, String hostRewrite) {
    /** A choice of one cluster with no header operations (inbound, passthrough). */
    public static ClusterChoice of(String cluster) {
      return new ClusterChoice(cluster, 1, HeaderOps.NONE, HeaderOps.NONE, null);
    }
  }

  /** One request_mirror_policies entry. */
  public record Mirror(String cluster, FractionalPercent fraction) {}

  /** A compiled route: its match, header operations, per-filter config and its action. */
  public static final class CompiledRoute {
    private final String name;
    private final VHost vhost;
    private final RouteMatcher match;
    private final HeaderOps requestOps;
    private final HeaderOps responseOps;
    private final HTTPFault fault;
    private final Cors cors;
    private final RouteEntryAction action;
    private final String decoratorOperation;
    private final JsonObject source;

    CompiledRoute(Route r, VHost vh) {
      this.name = r.getName();
      this.source = sourceOf(r.getMetadata());
      // Envoy propagates the decorator's operation unless propagate is false
      decoratorOperation =
          r.hasDecorator()
                  && !r.getDecorator().getOperation().isEmpty()
                  && (!r.getDecorator().hasPropagate()
                      || r.getDecorator().getPropagate().getValue())
              ? r.getDecorator().getOperation()
              : null;
      this.vhost = vh;
      this.match = new RouteMatcher(r);
      requestOps = HeaderOps.of(r.getRequestHeadersToAddList(), r.getRequestHeadersToRemoveList());
      responseOps =
          HeaderOps.of(r.getResponseHeadersToAddList(), r.getResponseHeadersToRemoveList());
      Any faultAny = r.getTypedPerFilterConfigMap().get(Wellknown.FAULT);
      fault = faultAny == null ? null : unpack(faultAny, HTTPFault.class, r.getName());
      RouteAction a = r.getRoute();
      cors =
          r.hasRoute() && a.hasCors()
              ? Cors.of(a.getCors(), null)
              : Cors.of(null, r.getTypedPerFilterConfigMap().get(Wellknown.CORS));
      action = RouteEntryAction.of(r, vh.retry, match.matchedPrefix());
    }

    /**
     * The decorator's operation when Envoy propagates it (x-envoy-decorator-operation), else null.
     */
    public String decoratorOperation() {
      return decoratorOperation;
    }

    public String name() {
      return name;
    }

    /**
     * Where the route's rule came from: Istio's {@code config} and the project's file:line metadata
     * ({@link SourceMetadata}); empty when the route carries neither.
     */
    public JsonObject source() {
      return source;
    }

    public VHost vhost() {
      return vhost;
    }

    public HeaderOps requestOps() {
      return requestOps;
    }

    public HeaderOps responseOps() {
      return responseOps;
    }

    /** The route's envoy.filters.http.fault config, or null. */
    public HTTPFault fault() {
      return fault;
    }

    /** The route's own CORS policy, or null. */
    public Cors cors() {
      return cors;
    }

    public RouteEntryAction action() {
      return action;
    }

    /** The action when it forwards upstream, else null. */
    public RouteEntryAction.Forward forward() {
      return action instanceof RouteEntryAction.Forward f ? f : null;
    }

    boolean matches(RequestView req) {
      return match.matches(req);
    }

    public String matchedPrefix() {
      return match.matchedPrefix();
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

    /** The cookie's path, for a generated cookie (empty: none). */
    public final String cookiePath;

    /**
     * The cookie's ttl in seconds when set: a request without the cookie gets one generated (Envoy
     * then answers with {@code set-cookie}); null: no generation, such a request is not hashed.
     */
    public final Long cookieTtlSeconds;

    public final String queryParam;
    public final boolean sourceIp;
    public final boolean terminal;

    HashPolicySpec(RouteAction.HashPolicy hp) {
      header = hp.hasHeader() ? hp.getHeader().getHeaderName().toLowerCase(Locale.ROOT) : null;
      cookie = hp.hasCookie() ? hp.getCookie().getName() : null;
      cookiePath = hp.hasCookie() ? hp.getCookie().getPath() : "";
      cookieTtlSeconds =
          hp.hasCookie() && hp.getCookie().hasTtl() ? hp.getCookie().getTtl().getSeconds() : null;
      queryParam = hp.hasQueryParameter() ? hp.getQueryParameter().getName() : null;
      sourceIp = hp.hasConnectionProperties() && hp.getConnectionProperties().getSourceIp();
      terminal = hp.getTerminal();
    }
  }

  /** istio.config and the shopmesh source metadata of a route, flattened. */
  static JsonObject sourceOf(Metadata md) {
    JsonObject out = new JsonObject();
    Struct istio = md.getFilterMetadataMap().get(IstioMetadata.ISTIO);
    if (istio != null && istio.containsFields(IstioMetadata.CONFIG)) {
      out.put("config", istio.getFieldsOrThrow(IstioMetadata.CONFIG).getStringValue());
    }
    Struct own = md.getFilterMetadataMap().get(SourceMetadata.NAMESPACE);
    if (own != null) {
      for (Map.Entry<String, Value> e : own.getFieldsMap().entrySet()) {
        Value v = e.getValue();
        out.put(
            e.getKey(),
            v.hasNumberValue() ? (Object) (long) v.getNumberValue() : v.getStringValue());
      }
    }
    return out;
  }

  static <T extends Message> T unpack(Any any, Class<T> type, String where) {
    try {
      return any.unpack(type);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException(
          where + ": cannot unpack " + any.getTypeUrl() + ": " + e.getMessage());
    }
  }
}
