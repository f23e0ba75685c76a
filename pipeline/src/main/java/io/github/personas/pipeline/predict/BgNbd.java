package io.github.personas.pipeline.predict;

import java.util.List;
import java.util.Objects;
import org.apache.commons.math3.special.Beta;
import org.apache.commons.math3.special.Gamma;

/**
 * The BG/NBD purchase model (Fader, Hardie and Lee 2005, "Counting your customers the easy way"):
 * while alive a customer buys at a Poisson rate drawn from a gamma(r, alpha), and after every
 * purchase drops out with a probability drawn from a beta(a, b).
 *
 * <p>A customer enters the likelihood only through (x, t_x, T): repeat purchases, the time of the
 * last one and the time since the first, all in one unit (days or weeks) from the first purchase.
 * Customers are therefore fitted as distinct triples with a count, and the fit costs the same for
 * 5,000 customers as for 5 million. Everything is computed in log space (log-gamma, log-beta,
 * log-sum-exp) and the parameters are searched on the log scale, where they are unbounded.
 */
public final class BgNbd {

  /**
   * The model's four parameters.
   *
   * @param r     shape of the gamma of purchase rates
   * @param alpha scale of the gamma of purchase rates, in the time unit of the data (7 times larger in days than in weeks)
   * @param a     first shape of the beta of drop-out probabilities
   * @param b     second shape of the beta of drop-out probabilities
   */
  public record Params(double r, double alpha, double a, double b) implements java.io.Serializable {
    public Params {
      if (!(r > 0 && alpha > 0 && a > 0 && b > 0)) {
        throw new IllegalArgumentException(String.format(
            "BG/NBD parameters must be positive, got r=%s alpha=%s a=%s b=%s", r, alpha, a, b));
      }
    }

    double[] logs() {
      return new double[] {Math.log(r), Math.log(alpha), Math.log(a), Math.log(b)};
    }

    static Params exp(double[] logs) {
      return new Params(Math.exp(logs[0]), Math.exp(logs[1]), Math.exp(logs[2]), Math.exp(logs[3]));
    }
  }

  /**
   * Customers sharing one history.
   *
   * @param x     repeat purchases (purchase days after the first)
   * @param tx    time of the last purchase since the first (0 when x = 0)
   * @param t     time since the first purchase, to the end of the observation (the model's T)
   * @param count customers with this history
   */
  public record History(double x, double tx, double t, long count) {
    public History {
      if (!(x >= 0 && tx >= 0 && t >= tx && count > 0) || (x == 0 && tx != 0)) {
        throw new IllegalArgumentException(String.format(
            "A history needs 0 <= t_x <= T, t_x = 0 without repeat purchases and count > 0, got x=%s t_x=%s T=%s"
                + " count=%s", x, tx, t, count));
      }
    }
  }

  /**
   * A fit.
   *
   * @param params        the parameters
   * @param logLikelihood the log-likelihood of all customers at {@code params} (without the penalty)
   * @param evaluations   likelihood evaluations the search took
   * @param customers     customers fitted
   * @param histories     distinct histories fitted
   * @param atBound       a parameter ran off towards the search's bound (beyond e^-10 or e^10, the
   *                      bound being e^12): the data does not pin it down (no one seen dropping out
   *                      drives b up or a down without end, where the likelihood is flat: in effect
   *                      no drop-out, an NBD). Predictions stay sound; the parameter itself means nothing
   */
  public record Fit(Params params, double logLikelihood, int evaluations, long customers, int histories,
                    boolean atBound) {}

  private BgNbd() {}

  /** The log-likelihood of one customer with history {@code h} (its count aside). */
  public static double logLikelihood(Params p, History h) {
    double x = h.x();
    double a1 = Gamma.logGamma(p.r() + x) - Gamma.logGamma(p.r()) + p.r() * Math.log(p.alpha());
    double a2 = Beta.logBeta(p.a(), p.b() + x) - Beta.logBeta(p.a(), p.b());
    double a3 = -(p.r() + x) * Math.log(p.alpha() + h.t());
    if (x == 0) {
      return a1 + a2 + a3;
    }
    double a4 = Math.log(p.a()) - Math.log(p.b() + x - 1) - (p.r() + x) * Math.log(p.alpha() + h.tx());
    return a1 + a2 + logSumExp(a3, a4);
  }

  /**
   * The log-likelihood of all customers: each history's times its count, summed on the driver's
   * cores the same bit for bit whatever their number (so is the fit).
   */
  public static double logLikelihood(Params p, List<History> histories) {
    return logLikelihood(p, Prepared.of(histories));
  }

  /**
   * Histories as arrays, each pointing at its x among the distinct ones: the terms that depend on
   * x alone (log-gammas and log-betas, most of the cost) are computed once per distinct x and
   * evaluation, a few hundred, instead of once per history, tens of thousands.
   */
  private record Prepared(double[] distinctX, int[] xAt, double[] tx, double[] t, double[] count) {
    static Prepared of(List<History> histories) {
      double[] distinct = histories.stream().mapToDouble(History::x).distinct().sorted().toArray();
      int n = histories.size();
      int[] at = new int[n];
      double[] tx = new double[n];
      double[] t = new double[n];
      double[] count = new double[n];
      for (int i = 0; i < n; i++) {
        History h = histories.get(i);
        at[i] = java.util.Arrays.binarySearch(distinct, h.x());
        tx[i] = h.tx();
        t[i] = h.t();
        count[i] = h.count();
      }
      return new Prepared(distinct, at, tx, t, count);
    }
  }

  /** {@link #logLikelihood(Params, History)} summed over prepared histories, the same terms in the same order. */
  private static double logLikelihood(Params p, Prepared h) {
    int m = h.distinctX().length;
    double[] common = new double[m];
    double[] dropOut = new double[m];
    double logGammaR = Gamma.logGamma(p.r());
    double rLogAlpha = p.r() * Math.log(p.alpha());
    double logBetaAB = Beta.logBeta(p.a(), p.b());
    double logA = Math.log(p.a());
    for (int j = 0; j < m; j++) {
      double x = h.distinctX()[j];
      double a1 = Gamma.logGamma(p.r() + x) - logGammaR + rLogAlpha;
      double a2 = Beta.logBeta(p.a(), p.b() + x) - logBetaAB;
      common[j] = a1 + a2;
      dropOut[j] = x == 0 ? 0 : logA - Math.log(p.b() + x - 1);
    }
    return io.github.personas.pipeline.engine.OrderedSum.of(h.xAt().length, i -> {
      int j = h.xAt()[i];
      double x = h.distinctX()[j];
      double a3 = -(p.r() + x) * Math.log(p.alpha() + h.t()[i]);
      double ll = x == 0 ? common[j] + a3
          : common[j] + logSumExp(a3, dropOut[j] - (p.r() + x) * Math.log(p.alpha() + h.tx()[i]));
      return h.count()[i] * ll;
    });
  }

  /**
   * Maximum-likelihood parameters.
   *
   * @param penalty L2 penalty on the parameters (as lifetimes' penalizer_coef: penalty times the sum of
   *                their squares, per customer), 0 for none
   */
  public static Fit fit(List<History> histories, double penalty) {
    Objects.requireNonNull(histories, "histories");
    if (histories.isEmpty()) {
      throw new IllegalArgumentException("No customer to fit");
    }
    if (!(penalty >= 0)) {
      throw new IllegalArgumentException(String.format("penalty must be >= 0, got %s", penalty));
    }
    long customers = histories.stream().mapToLong(History::count).sum();
    Prepared prepared = Prepared.of(histories);
    // The mean per customer: the objective's scale, and the search's tolerances, do not grow with customers.
    BoxSearch.Found found = BoxSearch.minimize(logs -> {
      Params p = Params.exp(logs);
      double ll = logLikelihood(p, prepared) / customers;
      double l2 = penalty * (p.r() * p.r() + p.alpha() * p.alpha() + p.a() * p.a() + p.b() * p.b());
      double v = -ll + l2;
      return Double.isFinite(v) ? v : Double.MAX_VALUE;
    }, 4);
    Params params = Params.exp(found.point());
    return new Fit(params, logLikelihood(params, prepared), found.evaluations(), customers, histories.size(),
        found.nearBound());
  }

  /**
   * E[X(t)]: the expected repeat purchases of a customer in the first {@code t} time units after
   * their first purchase, knowing nothing else of them (the model's unconditional expectation).
   */
  public static double expectedPurchases(Params p, double t) {
    if (!(t >= 0)) {
      throw new IllegalArgumentException(String.format("t must be >= 0, got %s", t));
    }
    double c = p.a() + p.b() - 1;
    double scaled = Math.pow(p.alpha() / (p.alpha() + t), p.r());
    return c / (p.a() - 1) * (1 - scaled * Hypergeometric.series(p.r(), p.b(), c, t / (p.alpha() + t)));
  }

  /**
   * P(alive): the probability that a customer with history {@code h} has not dropped out by the end
   * of the observation.
   */
  public static double pAlive(Params p, History h) {
    if (h.x() == 0) {
      return 1;
    }
    return 1 / (1 + Math.exp(logDeadOdds(p, h)));
  }

  /**
   * E[Y(t) | x, t_x, T]: the expected purchases of a customer with history {@code h} in the next
   * {@code horizon} time units.
   */
  public static double expectedPurchases(Params p, History h, double horizon) {
    if (!(horizon >= 0)) {
      throw new IllegalArgumentException(String.format("horizon must be >= 0, got %s", horizon));
    }
    if (horizon == 0) {
      return 0;
    }
    double x = h.x();
    double r = p.r();
    double z = horizon / (p.alpha() + h.t() + horizon);
    // ((alpha + T) / (alpha + T + t))^(r + x) = (1 - z)^(r + x) times 2F1(r + x, b + x; c; z), by
    // Euler's transformation (1 - z)^(c - (r + x) - (b + x)) 2F1(c - r - x, c - b - x; c; z): the
    // powers of (1 - z) add up to (1 - z)^(a - 1), whatever x, so a heavy buyer's huge factors never
    // appear, and the transformed series' parameters (a + b - 1 - r, a - 1) stay small. Its value may
    // be negative (when a + b + x < 1), so it is multiplied, not taken the logarithm of.
    double c = p.a() + p.b() + x - 1;
    double product = Math.exp((p.a() - 1) * Math.log1p(-z))
        * Hypergeometric.series(p.a() + p.b() - 1 - r, p.a() - 1, c, z);
    double numerator = c / (p.a() - 1) * (1 - product);
    double denominator = x == 0 ? 1 : 1 + Math.exp(logDeadOdds(p, h));
    return numerator / denominator;
  }

  /** log of (a / (b + x - 1)) ((alpha + T) / (alpha + t_x))^(r + x), the odds of having dropped out. */
  private static double logDeadOdds(Params p, History h) {
    return Math.log(p.a()) - Math.log(p.b() + h.x() - 1)
        + (p.r() + h.x()) * (Math.log(p.alpha() + h.t()) - Math.log(p.alpha() + h.tx()));
  }

  private static double logSumExp(double u, double v) {
    double m = Math.max(u, v);
    return m + Math.log(Math.exp(u - m) + Math.exp(v - m));
  }
}
