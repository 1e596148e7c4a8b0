package io.shopmesh.mesh.meshctl.prom;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Parses the Prometheus text exposition format into samples. */
public final class PromText {

  public record Sample(String name, Map<String, String> labels, double value) {}

  private PromText() {}

  public static List<Sample> parse(String text) {
    List<Sample> out = new ArrayList<>();
    for (String raw : text.split("\n")) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      try {
        out.add(parseLine(line));
      } catch (RuntimeException e) {
        // a line we do not understand is skipped, as a scraper would report and go on
      }
    }
    return out;
  }

  static Sample parseLine(String line) {
    int i = 0;
    while (i < line.length() && line.charAt(i) != '{' && !Character.isWhitespace(line.charAt(i))) {
      i++;
    }
    String name = line.substring(0, i);
    Map<String, String> labels = new LinkedHashMap<>();
    if (i < line.length() && line.charAt(i) == '{') {
      i++;
      while (true) {
        while (line.charAt(i) == ' ' || line.charAt(i) == ',') {
          i++;
        }
        if (line.charAt(i) == '}') {
          i++;
          break;
        }
        int eq = line.indexOf('=', i);
        String key = line.substring(i, eq).strip();
        i = eq + 1;
        if (line.charAt(i) != '"') {
          throw new IllegalArgumentException("bad label value");
        }
        i++;
        StringBuilder v = new StringBuilder();
        while (line.charAt(i) != '"') {
          char ch = line.charAt(i);
          if (ch == '\\') {
            char n = line.charAt(++i);
            v.append(n == 'n' ? '\n' : n);
          } else {
            v.append(ch);
          }
          i++;
        }
        i++;
        labels.put(key, v.toString());
      }
    }
    String[] rest = line.substring(i).strip().split("\\s+");
    return new Sample(name, labels, parseValue(rest[0]));
  }

  static double parseValue(String v) {
    return switch (v) {
      case "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      case "NaN" -> Double.NaN;
      default -> Double.parseDouble(v);
    };
  }
}
