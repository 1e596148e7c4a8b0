package io.shopmesh.mesh.xds;

import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.fabric8.istio.api.api.networking.v1alpha3.HTTPMatchRequest;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatch;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatchExact;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatchPrefix;
import io.fabric8.istio.api.api.networking.v1alpha3.StringMatchRegex;
import java.util.Map;

/** HTTPMatchRequest to Envoy's RouteMatch, and Istio's catch-all rule. */
public final class RouteMatches {

  private RouteMatches() {}

  /**
   * Istio's IsCatchAllRoute on what the match becomes: source conditions are not part of the Envoy
   * match (they decided whether the route is built for this proxy).
   */
  static boolean isCatchAll(HTTPMatchRequest m) {
    if (m == null) {
      return true;
    }
    boolean uriAll =
        m.getUri() == null
            || (m.getUri().getMatchType() instanceof StringMatchPrefix p
                && "/".equals(p.getPrefix()))
            || (m.getUri().getMatchType() instanceof StringMatchRegex rx
                && ("*".equals(rx.getRegex())
                    || "^.*$".equals(rx.getRegex())
                    || ".*".equals(rx.getRegex())));
    return uriAll
        && empty(m.getHeaders())
        && empty(m.getWithoutHeaders())
        && empty(m.getQueryParams())
        && m.getMethod() == null
        && m.getAuthority() == null
        && m.getScheme() == null;
  }

  private static boolean empty(Map<?, ?> m) {
    return m == null || m.isEmpty();
  }

  static RouteMatch translateMatch(HTTPMatchRequest m) {
    RouteMatch.Builder b = RouteMatch.newBuilder();
    if (m == null || m.getUri() == null || m.getUri().getMatchType() == null) {
      b.setPrefix("/");
    } else if (m.getUri().getMatchType() instanceof StringMatchExact e) {
      b.setPath(e.getExact());
    } else if (m.getUri().getMatchType() instanceof StringMatchPrefix p) {
      b.setPrefix(p.getPrefix());
    } else if (m.getUri().getMatchType() instanceof StringMatchRegex r) {
      b.setSafeRegex(RegexMatcher.newBuilder().setRegex(r.getRegex()));
    }
    if (m == null) {
      return b.build();
    }
    b.setCaseSensitive(Protos.bool(!Boolean.TRUE.equals(m.getIgnoreUriCase())));
    if (m.getHeaders() != null) {
      m.getHeaders().forEach((name, sm) -> b.addHeaders(headerMatcher(name, sm, false)));
    }
    if (m.getWithoutHeaders() != null) {
      m.getWithoutHeaders().forEach((name, sm) -> b.addHeaders(headerMatcher(name, sm, true)));
    }
    if (m.getMethod() != null) {
      b.addHeaders(headerMatcher(":method", m.getMethod(), false));
    }
    if (m.getAuthority() != null) {
      b.addHeaders(headerMatcher(":authority", m.getAuthority(), false));
    }
    if (m.getScheme() != null) {
      b.addHeaders(headerMatcher(":scheme", m.getScheme(), false));
    }
    if (m.getQueryParams() != null) {
      m.getQueryParams()
          .forEach(
              (name, sm) -> {
                QueryParameterMatcher.Builder q = QueryParameterMatcher.newBuilder().setName(name);
                StringMatcher s = stringMatcher(sm);
                if (s == null) {
                  q.setPresentMatch(true);
                } else {
                  q.setStringMatch(s);
                }
                b.addQueryParameters(q);
              });
    }
    return b.build();
  }

  /** An empty StringMatch ({@code {}}) means "header present", as Istio translates it. */
  static HeaderMatcher headerMatcher(String name, StringMatch sm, boolean invert) {
    HeaderMatcher.Builder h = HeaderMatcher.newBuilder().setName(name);
    StringMatcher s = stringMatcher(sm);
    if (s == null) {
      h.setPresentMatch(true);
    } else {
      h.setStringMatch(s);
    }
    if (invert) {
      h.setInvertMatch(true);
    }
    return h.build();
  }

  static StringMatcher stringMatcher(StringMatch sm) {
    if (sm == null || sm.getMatchType() == null) {
      return null;
    }
    if (sm.getMatchType() instanceof StringMatchExact e) {
      return StringMatcher.newBuilder().setExact(e.getExact()).build();
    }
    if (sm.getMatchType() instanceof StringMatchPrefix p) {
      return StringMatcher.newBuilder().setPrefix(p.getPrefix()).build();
    }
    if (sm.getMatchType() instanceof StringMatchRegex r) {
      return StringMatcher.newBuilder()
          .setSafeRegex(RegexMatcher.newBuilder().setRegex(r.getRegex()))
          .build();
    }
    return null;
  }
}
