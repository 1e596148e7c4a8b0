package io.shopmesh.mesh.proxy.router;

import com.google.protobuf.TextFormat;
import com.google.re2j.Pattern;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

/** A route's match compiled: path specifier, header and query parameter matchers (ANDed). */
final class RouteMatcher {
  private final Predicate<String> pathMatch;
  private final List<Predicate<Matchers.HeaderLookup>> headers = new ArrayList<>();
  private final List<Predicate<Map<String, List<String>>>> queries = new ArrayList<>();
  private final String matchedPrefix;
  private final String pathWhy;
  private final List<HeaderMatcher> headerSpecs;
  private final List<QueryParameterMatcher> querySpecs;

  RouteMatcher(Route r) {
    RouteMatch m = r.getMatch();
    boolean cs = !m.hasCaseSensitive() || m.getCaseSensitive().getValue();
    String prefixForRewrite = null;
    switch (m.getPathSpecifierCase()) {
      case PREFIX -> {
        String p = m.getPrefix();
        prefixForRewrite = p;
        pathMatch =
            cs
                ? s -> s.startsWith(p)
                : s -> s.toLowerCase(Locale.ROOT).startsWith(p.toLowerCase(Locale.ROOT));
      }
      case PATH -> {
        String p = m.getPath();
        pathMatch = cs ? p::equals : p::equalsIgnoreCase;
      }
      case SAFE_REGEX -> {
        Pattern p = Matchers.regex(m.getSafeRegex().getRegex());
        pathMatch = p::matches;
      }
      case PATH_SEPARATED_PREFIX -> {
        String p = m.getPathSeparatedPrefix();
        prefixForRewrite = p;
        pathMatch = s -> s.equals(p) || s.startsWith(p + "/");
      }
      default ->
          throw new IllegalArgumentException(
              "route " + r.getName() + ": unsupported path specifier " + m.getPathSpecifierCase());
    }
    matchedPrefix = prefixForRewrite;
    pathWhy =
        switch (m.getPathSpecifierCase()) {
          case PREFIX -> "does not start with " + m.getPrefix();
          case PATH -> "is not " + m.getPath();
          case SAFE_REGEX -> "does not match regex " + m.getSafeRegex().getRegex();
          default -> "is not " + m.getPathSeparatedPrefix() + " or under it";
        };
    headerSpecs = m.getHeadersList();
    querySpecs = m.getQueryParametersList();
    for (HeaderMatcher h : m.getHeadersList()) {
      headers.add(Matchers.header(h));
    }
    for (QueryParameterMatcher q : m.getQueryParametersList()) {
      queries.add(Matchers.query(q));
    }
  }

  boolean matches(RouteTable.RequestView req) {
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

  /**
   * Why the request does not match, for decision records: the first failing condition ("path /x
   * does not start with /products", "header user-type: absent"); null when it matches.
   */
  String whyNot(RouteTable.RequestView req) {
    if (!pathMatch.test(req.path())) {
      return "path " + req.path() + " " + pathWhy;
    }
    for (int i = 0; i < headers.size(); i++) {
      if (!headers.get(i).test(req)) {
        HeaderMatcher h = headerSpecs.get(i);
        String v = req.header(h.getName().toLowerCase(Locale.ROOT));
        return "header "
            + h.getName()
            + (v == null ? ": absent" : ": '" + v + "'")
            + " (wants "
            + TextFormat.shortDebugString(h.toBuilder().clearName().build())
            + ")";
      }
    }
    if (!queries.isEmpty()) {
      Map<String, List<String>> q = req.queryParams();
      for (int i = 0; i < queries.size(); i++) {
        if (!queries.get(i).test(q)) {
          QueryParameterMatcher qm = querySpecs.get(i);
          List<String> v = q.get(qm.getName());
          return "query "
              + qm.getName()
              + (v == null || v.isEmpty() ? ": absent" : ": '" + v.get(0) + "'")
              + " (wants "
              + TextFormat.shortDebugString(qm.toBuilder().clearName().build())
              + ")";
        }
      }
    }
    return null;
  }

  /** The prefix of a prefix or path-separated-prefix match, used by prefix rewrites. */
  String matchedPrefix() {
    return matchedPrefix;
  }
}
