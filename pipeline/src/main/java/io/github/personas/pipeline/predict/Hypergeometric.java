package io.github.personas.pipeline.predict;

/**
 * The Gauss hypergeometric function 2F1(a, b; c; z) for 0 <= z < 1, as the purchase models need
 * it: by its power series, summed until a term no longer changes the sum.
 *
 * <p>The series' terms grow before they shrink when a and b are large against c: for a heavy
 * buyer (BG/NBD's a = r + x, b = b + x, c = a + b + x - 1, z near 1/2) they reach 10^80 at
 * x = 300 and overflow a double before x = 1,500, while the sum is then multiplied by a factor
 * as small. Callers avoid that with Euler's transformation, 2F1(a, b; c; z) =
 * (1 - z)^(c - a - b) 2F1(c - a, c - b; c; z), whose parameters stay small, cancelling the factor
 * (1 - z)^(c - a - b) against their own (see {@link BgNbd#expectedPurchases(BgNbd.Params,
 * BgNbd.History, double)}).
 */
public final class Hypergeometric {

  private static final int MAX_TERMS = 1_000_000;

  private Hypergeometric() {}

  /**
   * 2F1(a, b; c; z) by the series.
   *
   * @throws IllegalArgumentException outside 0 <= z < 1, for c a non-positive integer, or when the
   *                                  series does not settle (its terms overflow)
   */
  public static double series(double a, double b, double c, double z) {
    if (!(z >= 0 && z < 1)) {
      throw new IllegalArgumentException(String.format("z must be in [0, 1), got %s", z));
    }
    if (c <= 0 && c == Math.rint(c)) {
      throw new IllegalArgumentException(String.format("c must not be a non-positive integer, got %s", c));
    }
    double term = 1;
    double sum = 1;
    for (int k = 0; k < MAX_TERMS; k++) {
      term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z;
      double next = sum + term;
      if (!Double.isFinite(next)) {
        break;
      }
      // Past the largest term, once a term stops changing the sum, all later ones are smaller still.
      if (next == sum && Math.abs((a + k + 1) * (b + k + 1) / ((c + k + 1) * (k + 2)) * z) < 1) {
        return sum;
      }
      sum = next;
    }
    throw new IllegalArgumentException(String.format(
        "2F1(%s, %s; %s; %s): the series does not settle; use the Euler transformation", a, b, c, z));
  }
}
