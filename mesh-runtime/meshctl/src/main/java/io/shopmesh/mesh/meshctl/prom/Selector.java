package io.shopmesh.mesh.meshctl.prom;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A PromQL instant-vector selector, {@code name{label="v", label!="v", label=~"re", label!~"re"}},
 * and sums over the samples it selects: what the walkthrough's Prometheus queries need.
 */
public final class Selector {

  record Matcher(String label, String op, String value, Pattern regex) {
    boolean test(Map<String, String> labels) {
      String v = labels.getOrDefault(label, "");
      return switch (op) {
        case "=" -> v.equals(value);
        case "!=" -> !v.equals(value);
        case "=~" -> regex.matcher(v).matches();
        default -> !regex.matcher(v).matches();
      };
    }
  }

  private final String name;
  private final List<Matcher> matchers;

  private Selector(String name, List<Matcher> matchers) {
    this.name = name;
    this.matchers = matchers;
  }

  public String name() {
    return name;
  }

  public static Selector parse(String query) {
    String q = query.strip();
    int brace = q.indexOf('{');
    String name = (brace < 0 ? q : q.substring(0, brace)).strip();
    List<Matcher> ms = new ArrayList<>();
    if (brace >= 0) {
      if (!q.endsWith("}")) {
        throw new IllegalArgumentException("selector must end with }: " + query);
      }
      String body = q.substring(brace + 1, q.length() - 1);
      int i = 0;
      while (i < body.length()) {
        while (i < body.length()
            && (body.charAt(i) == ',' || Character.isWhitespace(body.charAt(i)))) {
          i++;
        }
        if (i >= body.length()) {
          break;
        }
        int start = i;
        while (i < body.length()
            && (Character.isLetterOrDigit(body.charAt(i)) || body.charAt(i) == '_')) {
          i++;
        }
        String label = body.substring(start, i);
        while (Character.isWhitespace(body.charAt(i))) {
          i++;
        }
        String op;
        if (body.startsWith("=~", i)) {
          op = "=~";
        } else if (body.startsWith("!~", i)) {
          op = "!~";
        } else if (body.startsWith("!=", i)) {
          op = "!=";
        } else if (body.startsWith("=", i)) {
          op = "=";
        } else {
          throw new IllegalArgumentException(
              "expected =, !=, =~ or !~ after " + label + " in " + query);
        }
        i += op.length();
        while (Character.isWhitespace(body.charAt(i))) {
          i++;
        }
        char quote = body.charAt(i);
        if (quote != '"' && quote != '\'') {
          throw new IllegalArgumentException("label values must be quoted: " + query);
        }
        int end = body.indexOf(quote, i + 1);
        String value = body.substring(i + 1, end);
        i = end + 1;
        ms.add(new Matcher(label, op, value, op.contains("~") ? Pattern.compile(value) : null));
      }
    }
    if (name.isEmpty() && ms.isEmpty()) {
      throw new IllegalArgumentException("empty query");
    }
    return new Selector(name, ms);
  }

  public boolean matches(PromText.Sample s) {
    if (!name.isEmpty() && !name.equals(s.name())) {
      return false;
    }
    for (Matcher m : matchers) {
      if (!m.test(s.labels())) {
        return false;
      }
    }
    return true;
  }

  public double sum(List<PromText.Sample> samples) {
    return samples.stream().filter(this::matches).mapToDouble(PromText.Sample::value).sum();
  }

  /** {@code sum by (labels) (selector)}: label values (in the order given) to the sum. */
  public Map<List<String>, Double> sumBy(List<PromText.Sample> samples, List<String> by) {
    Map<List<String>, Double> out =
        new TreeMap<>((a, b) -> String.join("\u0000", a).compareTo(String.join("\u0000", b)));
    for (PromText.Sample s : samples) {
      if (matches(s)) {
        List<String> key = by.stream().map(l -> s.labels().getOrDefault(l, "")).toList();
        out.merge(key, s.value(), Double::sum);
      }
    }
    return new LinkedHashMap<>(out);
  }
}
