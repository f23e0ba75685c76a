package io.github.personas.pipeline.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class SignificanceTestsTest {

  /** Wikipedia, "Welch's t-test", example 1: t = -2.46, df = 24.9, p = 0.021. */
  static final double[] A1 = {27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4};
  static final double[] A2 = {27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4};

  static Moments moments(double[] xs) {
    double s = 0;
    double q = 0;
    for (double x : xs) {
      s += x;
      q += x * x;
    }
    return new Moments(xs.length, s, q);
  }

  @Test
  void welchMatchesTheTextbookExample() {
    assertEquals(-2.46, SignificanceTests.welchT(moments(A1), moments(A2)), 0.005);
    // p = 0.021 in the source; 0.021378 to more places (t distribution with 24.99 df, integrated numerically).
    assertEquals(0.021378, SignificanceTests.welch(moments(A1), moments(A2)), 2e-5);
  }

  @Test
  void twoProportionsMatchesTheZTest() {
    // 30/100 vs 20/100: pooled p = 0.25, z = 0.1 / sqrt(0.25 * 0.75 * 0.02) = 1.63299, two-sided p = 0.102470
    assertEquals(0.102470, SignificanceTests.twoProportions(30, 100, 20, 100), 1e-6);
  }

  @Test
  void undecidableComparisonsGiveNoPValue() {
    assertNull(SignificanceTests.twoProportions(0, 10, 0, 20), "nobody succeeded anywhere");
    assertNull(SignificanceTests.twoProportions(3, 10, 0, 0), "empty group");
    assertNull(SignificanceTests.welch(new Moments(1, 5, 25), moments(A2)), "one value");
    assertNull(SignificanceTests.welch(new Moments(3, 6, 12), new Moments(2, 4, 8)), "no variance on either side");
  }

  @Test
  void momentsOfTheRestAreThePopulationMinusTheGroup() {
    Moments all = moments(A1);
    Moments part = moments(java.util.Arrays.copyOf(A1, 5));
    Moments rest = all.minus(part);
    assertEquals(10, rest.n());
    assertEquals(moments(java.util.Arrays.copyOfRange(A1, 5, 15)).variance(), rest.variance(), 1e-9);
  }

  @Test
  void benjaminiHochbergAdjustsEachPValueForAllTheOthersSkippingTestsNotMade() {
    // m = 5 p-values (the null is no test). Ranked: 0.005, 0.01, 0.035, 0.04, 0.20;
    // p * m / rank:                               0.025, 0.025, 0.05833, 0.05, 0.20;
    // the minimum from each rank up (0.035 takes 0.05 from the larger 0.04): 0.025, 0.025, 0.05, 0.05, 0.20.
    Double[] p = {0.01, 0.04, null, 0.035, 0.20, 0.005};
    Double[] q = {0.025, 0.05, null, 0.05, 0.20, 0.025};
    Double[] adjusted = SignificanceTests.benjaminiHochberg(p);
    assertEquals(q.length, adjusted.length);
    for (int i = 0; i < q.length; i++) {
      if (q[i] == null) {
        assertNull(adjusted[i], "no test at " + i);
      } else {
        assertEquals(q[i], adjusted[i], 1e-12, "q of p = " + p[i]);
      }
    }
  }

  @Test
  void benjaminiHochbergKeepsTheOrderOfThePValuesAndStaysAtMostOne() {
    // 0.9 * 2 / 1 = 1.8, but the larger p-value's 0.95 * 2 / 2 bounds it.
    Double[] q = SignificanceTests.benjaminiHochberg(new Double[] {0.9, 0.95});
    assertEquals(0.95, q[0], 1e-12);
    assertEquals(0.95, q[1], 1e-12);
    assertEquals(0, SignificanceTests.benjaminiHochberg(new Double[0]).length);
  }
}
