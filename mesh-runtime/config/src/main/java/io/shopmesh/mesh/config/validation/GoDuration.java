package io.shopmesh.mesh.config.validation;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Go's duration syntax ({@code 10s}, {@code 1.5s}, {@code 1h30m}, {@code 250ms}), as Istio reads
 * it.
 */
public final class GoDuration {

  private static final Pattern PART = Pattern.compile("(\\d*\\.?\\d*)(ns|us|µs|μs|ms|s|m|h)");
  private static final Map<String, Long> NANOS =
      Map.of(
          "ns",
          1L,
          "us",
          1_000L,
          "µs",
          1_000L,
          "μs",
          1_000L,
          "ms",
          1_000_000L,
          "s",
          1_000_000_000L,
          "m",
          60_000_000_000L,
          "h",
          3_600_000_000_000L);

  private GoDuration() {}

  public static Optional<Duration> parse(String s) {
    if (s == null || s.isEmpty()) {
      return Optional.empty();
    }
    String body = s;
    boolean negative = false;
    if (body.startsWith("-") || body.startsWith("+")) {
      negative = body.startsWith("-");
      body = body.substring(1);
    }
    if (body.equals("0")) {
      return Optional.of(Duration.ZERO);
    }
    Matcher m = PART.matcher(body);
    int pos = 0;
    BigDecimal nanos = BigDecimal.ZERO;
    while (pos < body.length()) {
      if (!m.find(pos) || m.start() != pos) {
        return Optional.empty();
      }
      String num = m.group(1);
      if (num.isEmpty() || num.equals(".")) {
        return Optional.empty();
      }
      nanos = nanos.add(new BigDecimal(num).multiply(BigDecimal.valueOf(NANOS.get(m.group(2)))));
      pos = m.end();
    }
    if (pos == 0) {
      return Optional.empty();
    }
    long n = nanos.longValue();
    return Optional.of(Duration.ofNanos(negative ? -n : n));
  }
}
