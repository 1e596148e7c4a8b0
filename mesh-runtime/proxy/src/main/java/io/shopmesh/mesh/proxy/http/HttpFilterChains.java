package io.shopmesh.mesh.proxy.http;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.shopmesh.mesh.proxy.http.filter.CorsFilter;
import io.shopmesh.mesh.proxy.http.filter.FaultFilter;
import io.shopmesh.mesh.proxy.http.filter.IstioStatsFilter;
import io.shopmesh.mesh.proxy.rbac.RbacEngine;
import io.shopmesh.mesh.proxy.rbac.RbacFilter;
import io.shopmesh.mesh.proxy.router.RouterFilter;
import io.shopmesh.mesh.proxy.stats.IstioMetrics;
import io.shopmesh.mesh.proxy.xds.RouteConfigRef;
import io.shopmesh.mesh.proxy.xds.XdsState;
import io.shopmesh.mesh.wire.Wellknown;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The filter chains of the accepted listeners' HTTP connection managers, by the route config each
 * one uses, built from their http_filters. Istio's telemetry filter (istio.stats, with the peer
 * metadata exchange) is part of every chain, just before the router, as the sidecar and gateway
 * bootstrap install it; an HCM with no http_filters gets istiod's list (fault, CORS, router). Each
 * {@code envoy.filters.http.rbac} of a list is its own filter with its own config.
 */
public final class HttpFilterChains {
  public static final String STATS = "istio.stats";
  public static final String METADATA_EXCHANGE = "istio.metadata_exchange";

  private final Map<String, Supplier<HttpFilter>> factories = new HashMap<>();
  private final HttpFilterChain defaultChain;
  private volatile Map<RouteConfigRef, HttpFilterChain> byRouteConfig = Map.of();

  private final IstioMetrics metrics;

  public HttpFilterChains(ProxyContext ctx) {
    metrics = ctx.metrics();
    factories.put(Wellknown.FAULT, () -> new FaultFilter(ctx.vertx()));
    factories.put(Wellknown.CORS, CorsFilter::new);
    IstioStatsFilter.Config stats = new IstioStatsFilter.Config(ctx.node(), ctx.metrics());
    factories.put(STATS, () -> new IstioStatsFilter(stats));
    RouterFilter.Config router = new RouterFilter.Config(ctx);
    factories.put(Wellknown.ROUTER, () -> new RouterFilter(router));
    defaultChain = chain(List.of(Wellknown.FAULT, Wellknown.CORS, Wellknown.ROUTER));
  }

  /** Follows the listeners (LDS) as they are accepted. */
  public void onListeners(Map<String, Listener> listeners) {
    Map<RouteConfigRef, HttpFilterChain> next = new LinkedHashMap<>();
    for (Listener l : listeners.values()) {
      for (int i = 0; i < l.getFilterChainsCount(); i++) {
        add(next, l.getName(), i, XdsState.hcm(l.getFilterChains(i)));
      }
      if (l.hasDefaultFilterChain()) {
        add(
            next,
            l.getName(),
            RouteConfigRef.Inline.DEFAULT_CHAIN,
            XdsState.hcm(l.getDefaultFilterChain()));
      }
    }
    byRouteConfig = Collections.unmodifiableMap(next);
  }

  private void add(
      Map<RouteConfigRef, HttpFilterChain> out,
      String listener,
      int index,
      HttpConnectionManager hcm) {
    if (hcm == null) {
      return;
    }
    RouteConfigRef ref = RouteConfigRef.of(listener, index, hcm);
    if (ref != null && !out.containsKey(ref)) {
      List<String> names = new ArrayList<>();
      Map<String, Supplier<HttpFilter>> configured = new HashMap<>();
      for (var f : hcm.getHttpFiltersList()) {
        if (f.getName().equals(RbacFilter.NAME)) {
          // one instance per RBAC filter of the list (AUDIT, DENY, ALLOW), each with its config
          String key = RbacFilter.NAME + "#" + configured.size();
          configured.put(key, rbac(f.getTypedConfig(), "http." + hcm.getStatPrefix() + "."));
          names.add(key);
        } else {
          names.add(f.getName());
        }
      }
      out.put(ref, names.isEmpty() ? defaultChain : chain(names, configured));
    }
  }

  /** The chain of the HCM that uses this route config, or the default chain. */
  public HttpFilterChain forRouteConfig(RouteConfigRef ref) {
    HttpFilterChain c = ref == null ? null : byRouteConfig.get(ref);
    return c != null ? c : defaultChain;
  }

  public HttpFilterChain defaultChain() {
    return defaultChain;
  }

  /**
   * The known filters of a list, in order, with istio.stats before the router and a router at the
   * end; filters this proxy does not implement are skipped.
   */
  HttpFilterChain chain(List<String> filterNames) {
    return chain(filterNames, Map.of());
  }

  private HttpFilterChain chain(
      List<String> filterNames, Map<String, Supplier<HttpFilter>> configured) {
    List<String> names = new ArrayList<>();
    for (String n : filterNames) {
      String name = n.equals(METADATA_EXCHANGE) ? STATS : n;
      if (name.equals(Wellknown.ROUTER)) {
        break;
      }
      boolean known = factories.containsKey(name) || configured.containsKey(name);
      if (known && !names.contains(name)) {
        names.add(name);
      }
    }
    if (!names.contains(STATS)) {
      names.add(STATS);
    }
    names.add(Wellknown.ROUTER);
    List<Supplier<HttpFilter>> fs = new ArrayList<>();
    List<String> shown = new ArrayList<>();
    for (String n : names) {
      fs.add(configured.containsKey(n) ? configured.get(n) : factories.get(n));
      int hash = n.indexOf('#');
      shown.add(hash < 0 ? n : n.substring(0, hash));
    }
    return new HttpFilterChain(List.copyOf(shown), List.copyOf(fs));
  }

  /**
   * An RBAC filter's factory; a config that cannot be read denies every request (Envoy would reject
   * the listener; failing open would let everything through).
   */
  private Supplier<HttpFilter> rbac(Any typedConfig, String statPrefix) {
    try {
      RbacFilter.Config cfg = RbacFilter.Config.of(typedConfig, statPrefix, metrics::count);
      return () -> new RbacFilter(cfg);
    } catch (IllegalArgumentException e) {
      RbacFilter.Config denyAll =
          new RbacFilter.Config(
              new RbacEngine(RBAC.newBuilder().setAction(RBAC.Action.ALLOW).build()),
              null,
              "",
              null);
      return () -> new RbacFilter(denyAll);
    }
  }
}
