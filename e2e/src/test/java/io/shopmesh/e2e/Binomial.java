package io.shopmesh.e2e;

/**
 * The 99.9% (two-sided) normal-approximation interval of a binomial count: a correct 80/20 split
 * falls outside it once in a thousand runs, so the tests are not flaky, and a wrong one (say 70/30
 * or 50/50) falls outside it at the sample sizes used here.
 */
public final class Binomial {

  /** z for 99.9% two-sided. */
  public static final double Z = 3.2905;

  public record Interval(double low, double high) {
    public boolean contains(double x) {
      return x >= low && x <= high;
    }

    @Override
    public String toString() {
      return String.format(java.util.Locale.ROOT, "[%.1f, %.1f]", low, high);
    }
  }

  /** The interval for the number of successes in n tries with probability p. */
  public static Interval of(int n, double p) {
    double mean = n * p;
    double half = Z * Math.sqrt(n * p * (1 - p));
    return new Interval(mean - half, mean + half);
  }

  private Binomial() {}
}
