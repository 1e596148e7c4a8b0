package io.shopmesh.mesh.xds.authz;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ListMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.OrMatcher;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * Istio's authorization value syntax ({@code *} for any non-empty value, {@code *x} suffix, {@code
 * x*} prefix, else exact) as Envoy matchers, as pilot's {@code security/authz/matcher} builds them.
 */
final class Matchers {

  private Matchers() {}

  static StringMatcher string(String v) {
    return stringWithPrefix(v, "");
  }

  /** A matcher for {@code prefix + v}: principals are matched with {@code spiffe://} in front. */
  static StringMatcher stringWithPrefix(String v, String prefix) {
    if (v.equals("*")) {
      return regex(".+");
    }
    if (v.startsWith("*")) {
      if (prefix.isEmpty()) {
        return suffix(v.substring(1), false);
      }
      return regex(prefix + ".*" + quoteMeta(v.substring(1)));
    }
    if (v.endsWith("*")) {
      return prefix(prefix + v.substring(0, v.length() - 1), false);
    }
    return exact(prefix + v, false);
  }

  static StringMatcher regex(String regex) {
    return StringMatcher.newBuilder()
        .setSafeRegex(RegexMatcher.newBuilder().setRegex(regex))
        .build();
  }

  static StringMatcher prefix(String p, boolean ignoreCase) {
    return StringMatcher.newBuilder().setPrefix(p).setIgnoreCase(ignoreCase).build();
  }

  static StringMatcher suffix(String s, boolean ignoreCase) {
    return StringMatcher.newBuilder().setSuffix(s).setIgnoreCase(ignoreCase).build();
  }

  static StringMatcher exact(String e, boolean ignoreCase) {
    return StringMatcher.newBuilder().setExact(e).setIgnoreCase(ignoreCase).build();
  }

  /** A request header: {@code *} means present; methods and headers are case sensitive. */
  static HeaderMatcher header(String name, String v) {
    return headerMatcher(name, v, false);
  }

  /** The {@code :authority} header: hosts compare ignoring case. */
  static HeaderMatcher host(String name, String v) {
    return headerMatcher(name, v, true);
  }

  private static HeaderMatcher headerMatcher(String name, String v, boolean ignoreCase) {
    HeaderMatcher.Builder h = HeaderMatcher.newBuilder().setName(name);
    if (v.equals("*")) {
      return h.setPresentMatch(true).build();
    }
    if (v.startsWith("*")) {
      return h.setStringMatch(suffix(v.substring(1), ignoreCase)).build();
    }
    if (v.endsWith("*")) {
      return h.setStringMatch(prefix(v.substring(0, v.length() - 1), ignoreCase)).build();
    }
    return h.setStringMatch(exact(v, ignoreCase)).build();
  }

  static PathMatcher path(String v) {
    return PathMatcher.newBuilder().setPath(string(v)).build();
  }

  static ValueMatcher stringValue(StringMatcher m) {
    return ValueMatcher.newBuilder().setStringMatch(m).build();
  }

  static ValueMatcher or(List<ValueMatcher> matchers) {
    if (matchers.size() == 1) {
      return matchers.get(0);
    }
    return ValueMatcher.newBuilder()
        .setOrMatch(OrMatcher.newBuilder().addAllValueMatchers(matchers))
        .build();
  }

  static ValueMatcher stringOr(List<String> values) {
    return or(values.stream().map(v -> stringValue(string(v))).toList());
  }

  static MetadataMatcher metadataValue(String filter, String key, ValueMatcher value) {
    return MetadataMatcher.newBuilder()
        .setFilter(filter)
        .addPath(MetadataMatcher.PathSegment.newBuilder().setKey(key))
        .setValue(value)
        .build();
  }

  /**
   * A metadata list: one of the list's elements matches; with {@code alsoScalar} the value may also
   * be a single string (JWT claims may be either).
   */
  static MetadataMatcher metadataList(
      String filter, List<String> keys, ValueMatcher value, boolean alsoScalar) {
    MetadataMatcher.Builder m = MetadataMatcher.newBuilder().setFilter(filter);
    for (String k : keys) {
      m.addPath(MetadataMatcher.PathSegment.newBuilder().setKey(k));
    }
    ValueMatcher list =
        ValueMatcher.newBuilder().setListMatch(ListMatcher.newBuilder().setOneOf(value)).build();
    if (alsoScalar) {
      m.setValue(
          ValueMatcher.newBuilder()
              .setOrMatch(OrMatcher.newBuilder().addValueMatchers(list).addValueMatchers(value)));
    } else {
      m.setValue(list);
    }
    return m.build();
  }

  /** An address or CIDR ({@code 10.0.0.1}, {@code 10.0.0.0/16}) as Envoy's CidrRange. */
  static CidrRange cidr(String value) {
    String addr = value;
    Integer len = null;
    int slash = value.indexOf('/');
    if (slash >= 0) {
      addr = value.substring(0, slash);
      try {
        len = Integer.parseInt(value.substring(slash + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("invalid CIDR " + value);
      }
    }
    if (addr.isEmpty() || !(addr.contains(":") || addr.matches("[0-9.]+"))) {
      throw new IllegalArgumentException("invalid IP address " + value);
    }
    InetAddress ip;
    try {
      ip = InetAddress.getByName(addr);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("invalid IP address " + value);
    }
    int bits = ip.getAddress().length * 8;
    if (len == null) {
      len = bits;
    }
    if (len < 0 || len > bits) {
      throw new IllegalArgumentException("invalid CIDR " + value);
    }
    return CidrRange.newBuilder().setAddressPrefix(addr).setPrefixLen(UInt32Value.of(len)).build();
  }

  /** Go's regexp.QuoteMeta: escapes every regex metacharacter with a backslash. */
  static String quoteMeta(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      if ("\\.+*?()|[]{}^$".indexOf(c) >= 0) {
        b.append('\\');
      }
      b.append(c);
    }
    return b.toString();
  }
}
