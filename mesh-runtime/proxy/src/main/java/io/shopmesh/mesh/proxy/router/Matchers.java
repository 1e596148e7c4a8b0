package io.shopmesh.mesh.proxy.router;

import com.google.re2j.Pattern;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

/** Envoy's string, header and query parameter matchers, compiled once per config. */
public final class Matchers {
  private Matchers() {}

  /** A compiled StringMatcher. */
  public static Predicate<String> string(StringMatcher m) {
    boolean ic = m.getIgnoreCase();
    switch (m.getMatchPatternCase()) {
      case EXACT:
        {
          String v = m.getExact();
          return s -> s != null && (ic ? s.equalsIgnoreCase(v) : s.equals(v));
        }
      case PREFIX:
        {
          String v = ic ? m.getPrefix().toLowerCase(Locale.ROOT) : m.getPrefix();
          return s -> s != null && (ic ? s.toLowerCase(Locale.ROOT) : s).startsWith(v);
        }
      case SUFFIX:
        {
          String v = ic ? m.getSuffix().toLowerCase(Locale.ROOT) : m.getSuffix();
          return s -> s != null && (ic ? s.toLowerCase(Locale.ROOT) : s).endsWith(v);
        }
      case CONTAINS:
        {
          String v = ic ? m.getContains().toLowerCase(Locale.ROOT) : m.getContains();
          return s -> s != null && (ic ? s.toLowerCase(Locale.ROOT) : s).contains(v);
        }
      case SAFE_REGEX:
        {
          Pattern p = regex(m.getSafeRegex().getRegex());
          return s -> s != null && p.matches(s);
        }
      default:
        throw new IllegalArgumentException("unsupported string matcher " + m.getMatchPatternCase());
    }
  }

  public static Pattern regex(String re) {
    try {
      return Pattern.compile(re);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("invalid regex '" + re + "': " + e.getMessage());
    }
  }

  /** A compiled HeaderMatcher: evaluates against the request's header values (joined by ','). */
  public static Predicate<HeaderLookup> header(HeaderMatcher h) {
    String name = h.getName().toLowerCase(Locale.ROOT);
    Predicate<String> value;
    boolean presentOnly = false;
    boolean presentWanted = true;
    switch (h.getHeaderMatchSpecifierCase()) {
      case EXACT_MATCH:
        {
          String v = h.getExactMatch();
          value = v::equals;
          break;
        }
      case PREFIX_MATCH:
        {
          String v = h.getPrefixMatch();
          value = s -> s.startsWith(v);
          break;
        }
      case SUFFIX_MATCH:
        {
          String v = h.getSuffixMatch();
          value = s -> s.endsWith(v);
          break;
        }
      case CONTAINS_MATCH:
        {
          String v = h.getContainsMatch();
          value = s -> s.contains(v);
          break;
        }
      case SAFE_REGEX_MATCH:
        {
          Pattern p = regex(h.getSafeRegexMatch().getRegex());
          value = p::matches;
          break;
        }
      case STRING_MATCH:
        value = string(h.getStringMatch());
        break;
      case PRESENT_MATCH:
        presentOnly = true;
        presentWanted = h.getPresentMatch();
        value = s -> true;
        break;
      case HEADERMATCHSPECIFIER_NOT_SET:
        presentOnly = true;
        value = s -> true;
        break;
      default:
        throw new IllegalArgumentException(
            "unsupported header matcher " + h.getHeaderMatchSpecifierCase());
    }
    boolean invert = h.getInvertMatch();
    boolean treatMissingAsEmpty = h.getTreatMissingHeaderAsEmpty();
    boolean po = presentOnly;
    boolean pw = presentWanted;
    return req -> {
      String v = req.header(name);
      boolean r;
      if (po) {
        r = (v != null) == pw;
      } else if (v == null) {
        r = treatMissingAsEmpty && value.test("");
      } else {
        r = value.test(v);
      }
      return r != invert;
    };
  }

  public static Predicate<Map<String, List<String>>> query(QueryParameterMatcher q) {
    String name = q.getName();
    if (q.hasStringMatch()) {
      Predicate<String> p = string(q.getStringMatch());
      return params -> {
        List<String> vs = params.get(name);
        return vs != null && !vs.isEmpty() && p.test(vs.get(0));
      };
    }
    // present_match, or no specifier: presence.
    return params -> params.containsKey(name);
  }

  /** What a header matcher needs of a request. */
  public interface HeaderLookup {
    /**
     * All values of a header joined with ',', or null. Pseudo headers: :method, :path, :authority.
     */
    String header(String lowerCaseName);
  }
}
