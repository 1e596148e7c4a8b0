package io.shopmesh.mesh.xds;

import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPFaultInjection;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPFaultInjectionAbortGrpcStatus;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPFaultInjectionAbortHttpStatus;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPFaultInjectionDelayFixedDelay;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRedirect;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRedirectDerivePort;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRedirectPort;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRedirectRedirectPortSelection;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPRoute;
import io.fabric8.istio.api.api.networking.v1alpha3.HeadersHeaderOperations;
import io.fabric8.istio.api.api.networking.v1alpha3.Percent;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatch;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Per-route policies of a VirtualService http route: fault injection, CORS, redirects and header
 * operations, as Istio translates them.
 */
public final class RoutePolicies {

  private RoutePolicies() {}

  static HTTPFault fault(HTTPFaultInjection f) {
    HTTPFault.Builder b = HTTPFault.newBuilder();
    if (f.getDelay() != null) {
      FaultDelay.Builder d = FaultDelay.newBuilder();
      if (f.getDelay().getHttpDelayType() instanceof HTTPFaultInjectionDelayFixedDelay fd) {
        d.setFixedDelay(Protos.duration(fd.getFixedDelay()));
      }
      FractionalPercent pct = faultPercent(f.getDelay().getPercentage(), f.getDelay().getPercent());
      if (pct != null) {
        d.setPercentage(pct);
      }
      b.setDelay(d);
    }
    if (f.getAbort() != null) {
      FaultAbort.Builder a = FaultAbort.newBuilder();
      if (f.getAbort().getErrorType() instanceof HTTPFaultInjectionAbortHttpStatus hs) {
        a.setHttpStatus(hs.getHttpStatus());
      } else if (f.getAbort().getErrorType() instanceof HTTPFaultInjectionAbortGrpcStatus gs) {
        a.setGrpcStatus(grpcCode(gs.getGrpcStatus()));
      }
      FractionalPercent pct = faultPercent(f.getAbort().getPercentage(), null);
      if (pct != null) {
        a.setPercentage(pct);
      }
      b.setAbort(a);
    }
    return b.build();
  }

  private static int grpcCode(String s) {
    try {
      return Status.Code.valueOf(s).value();
    } catch (RuntimeException e) {
      return 2;
    }
  }

  /**
   * Istio's TranslateFault: the percentage, else the deprecated integer percent (delay only); with
   * neither the field stays unset, which Envoy reads as 0%: "if left unspecified, no request will
   * be delayed/aborted".
   */
  private static FractionalPercent faultPercent(Percent p, Integer legacy) {
    if (p != null && p.getValue() != null) {
      return Protos.percent(p.getValue());
    }
    if (legacy != null) {
      return Protos.integerPercent(legacy);
    }
    return null;
  }

  /** The route's corsPolicy as Envoy's per-route CORS config. */
  static CorsPolicy cors(HTTPRoute route) {
    var c = route.getCorsPolicy();
    CorsPolicy.Builder b = CorsPolicy.newBuilder();
    if (c.getAllowOrigins() != null) {
      for (StringMatch sm : c.getAllowOrigins()) {
        StringMatcher s = RouteMatches.stringMatcher(sm);
        if (s != null) {
          b.addAllowOriginStringMatch(s);
        }
      }
    }
    if (c.getAllowOrigin() != null) {
      for (String o : c.getAllowOrigin()) {
        b.addAllowOriginStringMatch(StringMatcher.newBuilder().setExact(o));
      }
    }
    if (c.getAllowMethods() != null) {
      b.setAllowMethods(String.join(",", c.getAllowMethods()));
    }
    if (c.getAllowHeaders() != null) {
      b.setAllowHeaders(String.join(",", c.getAllowHeaders()));
    }
    if (c.getExposeHeaders() != null) {
      b.setExposeHeaders(String.join(",", c.getExposeHeaders()));
    }
    if (c.getMaxAge() != null) {
      b.setMaxAge(String.valueOf(Protos.duration(c.getMaxAge()).getSeconds()));
    }
    if (c.getAllowCredentials() != null) {
      b.setAllowCredentials(Protos.bool(c.getAllowCredentials()));
    }
    b.setFilterEnabled(
        RuntimeFractionalPercent.newBuilder().setDefaultValue(Protos.integerPercent(100)));
    return b.build();
  }

  /**
   * Istio's redirect translation: uri, authority, scheme and code as given; {@code port} as
   * port_redirect; {@code derivePort: FROM_REQUEST_PORT} as the port of the route's listener (Envoy
   * cannot derive it per request, Istio knows it statically), FROM_PROTOCOL_DEFAULT as no
   * port_redirect (Envoy then drops the request's port when it is its scheme's default and the
   * scheme changes).
   */
  static RedirectAction redirect(HTTPRedirect r, int listenerPort) {
    RedirectAction.Builder b = RedirectAction.newBuilder();
    if (r.getUri() != null) {
      b.setPathRedirect(r.getUri());
    }
    if (r.getAuthority() != null) {
      b.setHostRedirect(r.getAuthority());
    }
    if (r.getScheme() != null) {
      b.setSchemeRedirect(r.getScheme());
    }
    if (r.getRedirectPort() instanceof HTTPRedirectPort p && p.getPort() != null) {
      b.setPortRedirect(p.getPort().intValue());
    } else if (r.getRedirectPort() instanceof HTTPRedirectDerivePort d
        && d.getDerivePort() == HTTPRedirectRedirectPortSelection.FROM_REQUEST_PORT
        && listenerPort > 0) {
      b.setPortRedirect(listenerPort);
    }
    long code = r.getRedirectCode() == null || r.getRedirectCode() == 0 ? 301 : r.getRedirectCode();
    b.setResponseCode(
        switch ((int) code) {
          case 302 -> RedirectAction.RedirectResponseCode.FOUND;
          case 303 -> RedirectAction.RedirectResponseCode.SEE_OTHER;
          case 307 -> RedirectAction.RedirectResponseCode.TEMPORARY_REDIRECT;
          case 308 -> RedirectAction.RedirectResponseCode.PERMANENT_REDIRECT;
          default -> RedirectAction.RedirectResponseCode.MOVED_PERMANENTLY;
        });
    return b.build();
  }

  static void addRequestHeaders(Route.Builder rb, HeadersHeaderOperations ops) {
    if (ops == null) {
      return;
    }
    rb.addAllRequestHeadersToAdd(headerOptions(ops));
    rb.addAllRequestHeadersToRemove(removable(ops));
  }

  static void addResponseHeaders(Route.Builder rb, HeadersHeaderOperations ops) {
    if (ops == null) {
      return;
    }
    rb.addAllResponseHeadersToAdd(headerOptions(ops));
    rb.addAllResponseHeadersToRemove(removable(ops));
  }

  /**
   * Istio's internal headers (pseudo-headers and {@code host}): Envoy cannot set or remove them by
   * header operations, so Istio drops them there and turns a set or added authority into a host
   * rewrite ({@link #authority}).
   */
  static boolean internalHeader(String name) {
    return name.startsWith(":") || name.equalsIgnoreCase("host");
  }

  /**
   * The authority a {@code set} (else an {@code add}) of {@code host} or {@code :authority} asks.
   */
  static String authority(HeadersHeaderOperations ops) {
    if (ops == null) {
      return null;
    }
    String found = null;
    for (Map<String, String> m : Arrays.asList(ops.getAdd(), ops.getSet())) {
      if (m == null) {
        continue;
      }
      for (Map.Entry<String, String> e : m.entrySet()) {
        if (e.getKey().equalsIgnoreCase("host") || e.getKey().equalsIgnoreCase(":authority")) {
          found = e.getValue();
        }
      }
    }
    return found;
  }

  static List<String> removable(HeadersHeaderOperations ops) {
    List<String> out = new ArrayList<>();
    if (ops.getRemove() != null) {
      for (String h : ops.getRemove()) {
        if (!internalHeader(h)) {
          out.add(h);
        }
      }
    }
    return out;
  }

  /**
   * set: OVERWRITE_IF_EXISTS_OR_ADD; add: APPEND_IF_EXISTS_OR_ADD (Istio's translation); internal
   * headers are left out.
   */
  static List<HeaderValueOption> headerOptions(HeadersHeaderOperations ops) {
    List<HeaderValueOption> out = new ArrayList<>();
    addOptions(out, ops.getSet(), HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD);
    addOptions(out, ops.getAdd(), HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD);
    return out;
  }

  private static void addOptions(
      List<HeaderValueOption> out,
      Map<String, String> headers,
      HeaderValueOption.HeaderAppendAction action) {
    if (headers == null) {
      return;
    }
    headers.forEach(
        (k, v) -> {
          if (!internalHeader(k)) {
            out.add(
                HeaderValueOption.newBuilder()
                    .setHeader(HeaderValue.newBuilder().setKey(k).setValue(v))
                    .setAppendAction(action)
                    .build());
          }
        });
  }
}
