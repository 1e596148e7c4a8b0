package io.shopmesh.mesh.config.validation;

import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;

/**
 * RE2 syntax check through re2j (Java's own regex would accept look-arounds that Envoy rejects).
 */
final class Re2 {

  private Re2() {}

  /** Istio's wording of the parse error, or null when {@code re} is valid RE2. */
  static String check(String re) {
    try {
      Pattern.compile(re);
      return null;
    } catch (PatternSyntaxException e) {
      return "error parsing regexp: " + e.getDescription() + ": `" + e.getPattern() + "`";
    }
  }
}
