package io.github.personas.pipeline.report;

/**
 * Count, sum and sum of squares of a KPI over a group of users: enough for its mean, its variance
 * and both significance tests, and additive, so "everyone else" is the population minus the group.
 *
 * <p>For a rate the values are 0 or 1: {@code n} is the users it applies to, {@code sum} the
 * successes.
 *
 * @param n     users with a value
 * @param sum   sum of the values
 * @param sumSq sum of the squared values
 */
public record Moments(long n, double sum, double sumSq) {

  /** No users. */
  public static final Moments EMPTY = new Moments(0, 0, 0);

  /** The mean, or NaN without users. */
  public double mean() {
    return n == 0 ? Double.NaN : sum / n;
  }

  /** The unbiased sample variance, or NaN with fewer than two users. */
  public double variance() {
    if (n < 2) {
      return Double.NaN;
    }
    double v = (sumSq - sum * sum / n) / (n - 1);
    return Math.max(0, v);
  }

  /** The moments of the users in {@code this} but not in {@code part}. */
  public Moments minus(Moments part) {
    return new Moments(n - part.n, sum - part.sum, sumSq - part.sumSq);
  }
}
