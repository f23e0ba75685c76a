package io.github.personas.pipeline.report;

import org.apache.commons.math3.stat.descriptive.StatisticalSummaryValues;
import org.apache.commons.math3.stat.inference.ChiSquareTest;
import org.apache.commons.math3.stat.inference.TTest;

/**
 * Two-sided p-values for comparing a group of users with another, from Apache Commons Math.
 *
 * <p>Rates use Pearson's chi-square test on the 2×2 table (successes and failures of both groups)
 * without continuity correction, which is exactly the pooled two-proportion z-test (chi-square =
 * z²). Means use Welch's t-test, which does not assume equal variances: segment sizes and spreads
 * differ a lot. Both return null when the data cannot decide (an empty group, no variation).
 */
public final class SignificanceTests {

  private SignificanceTests() {}

  /**
   * Two-proportion test.
   *
   * @param successesA successes in group A
   * @param trialsA    users of group A the rate applies to
   * @param successesB successes in group B
   * @param trialsB    users of group B the rate applies to
   * @return the two-sided p-value, or null when a group is empty or all users succeed (or fail) alike
   */
  public static Double twoProportions(long successesA, long trialsA, long successesB, long trialsB) {
    if (successesA < 0 || successesB < 0 || successesA > trialsA || successesB > trialsB) {
      throw new IllegalArgumentException(String.format("successes must be within [0, trials], got %s/%s and %s/%s",
          successesA, trialsA, successesB, trialsB));
    }
    long successes = successesA + successesB;
    long failures = trialsA + trialsB - successes;
    if (trialsA == 0 || trialsB == 0 || successes == 0 || failures == 0) {
      return null;
    }
    long[][] table = {{successesA, trialsA - successesA}, {successesB, trialsB - successesB}};
    return new ChiSquareTest().chiSquareTest(table);
  }

  /**
   * Welch's unequal-variances t-test.
   *
   * @return the two-sided p-value, or null with fewer than two values in a group or no variance in either
   */
  public static Double welch(Moments a, Moments b) {
    if (a.n() < 2 || b.n() < 2) {
      return null;
    }
    double va = a.variance();
    double vb = b.variance();
    if (va == 0 && vb == 0) {
      return null;
    }
    return new TTest().tTest(summary(a), summary(b));
  }

  /** Welch's t statistic (A minus B), for reports and tests. */
  public static double welchT(Moments a, Moments b) {
    return new TTest().t(summary(a), summary(b));
  }

  /**
   * Benjamini–Hochberg adjusted p-values (q-values): a test is a discovery at false discovery rate
   * q when its q-value is at most q. With m p-values ranked ascending, the q-value of rank i is
   * {@code min over j >= i of min(1, p_(j) m / j)}, so q-values keep the order of the p-values.
   *
   * <p>A report runs hundreds of tests; at a 5 % level about 5 % of the segments that do not
   * differ at all would be flagged by their raw p-values alone.
   *
   * @param pValues p-values, null where a test could not be made (it is no test and does not count in m)
   * @return the q-values in the order of {@code pValues}, null where the p-value is null
   */
  public static Double[] benjaminiHochberg(Double[] pValues) {
    Integer[] ranked = java.util.stream.IntStream.range(0, pValues.length).filter(i -> pValues[i] != null)
        .boxed().sorted(java.util.Comparator.comparingDouble(i -> pValues[i])).toArray(Integer[]::new);
    for (Integer i : ranked) {
      if (!(pValues[i] >= 0 && pValues[i] <= 1)) {
        throw new IllegalArgumentException("p-values must be within [0, 1], got " + pValues[i]);
      }
    }
    int m = ranked.length;
    Double[] q = new Double[pValues.length];
    double running = 1;
    for (int rank = m; rank >= 1; rank--) {
      int i = ranked[rank - 1];
      running = Math.min(running, pValues[i] * m / rank);
      q[i] = running;
    }
    return q;
  }

  private static StatisticalSummaryValues summary(Moments m) {
    // max and min are not used by the t-test.
    return new StatisticalSummaryValues(m.mean(), m.variance(), m.n(), Double.NaN, Double.NaN, m.sum());
  }
}
