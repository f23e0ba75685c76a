package io.github.personas.pipeline.predict;

import java.util.List;
import java.util.Objects;
import org.apache.commons.math3.special.Gamma;

/**
 * The Gamma-Gamma spend model (Fader, Hardie and Lee 2005, "RFM and CLV"; Colombo and Jiang
 * 1999): a customer's order values are gamma(p, nu) around their own mean, and nu varies across
 * customers as a gamma(q, gamma), so the expected order value of a customer shrinks their observed
 * mean towards the population's by how many orders it rests on.
 *
 * <p>Fitted on repeat buyers only, each as (x, mean repeat order value) with a count; the model
 * assumes spend independent of purchase frequency, which the caller can check.
 */
public final class GammaGamma {

  /**
   * The model's parameters.
   *
   * @param p shape of the order values around a customer's mean
   * @param q shape of the gamma of customers' nu
   * @param v scale (gamma in the paper) of the gamma of customers' nu
   */
  public record Params(double p, double q, double v) implements java.io.Serializable {
    public Params {
      if (!(p > 0 && q > 0 && v > 0)) {
        throw new IllegalArgumentException(String.format(
            "Gamma-Gamma parameters must be positive, got p=%s q=%s v=%s", p, q, v));
      }
    }

    /** The population's mean order value, p v / (q - 1); infinite for q <= 1. */
    public double populationMean() {
      return q > 1 ? p * v / (q - 1) : Double.POSITIVE_INFINITY;
    }
  }

  /**
   * Repeat buyers sharing one spend history.
   *
   * @param x     repeat orders (at least 1)
   * @param mean  their mean value (positive)
   * @param count buyers with this history
   */
  public record Spend(double x, double mean, long count) {
    public Spend {
      if (!(x >= 1 && mean > 0 && count > 0)) {
        throw new IllegalArgumentException(String.format(
            "A spend history needs x >= 1, a positive mean and count > 0, got x=%s mean=%s count=%s", x, mean, count));
      }
    }
  }

  /**
   * A fit.
   *
   * @param params        the parameters
   * @param logLikelihood the log-likelihood at {@code params} (without the penalty)
   * @param evaluations   likelihood evaluations the search took
   * @param buyers        repeat buyers fitted
   */
  public record Fit(Params params, double logLikelihood, int evaluations, long buyers) {}

  private GammaGamma() {}

  /** The log-likelihood of one repeat buyer with spend history {@code s} (its count aside). */
  public static double logLikelihood(Params par, Spend s) {
    double px = par.p() * s.x();
    return Gamma.logGamma(px + par.q()) - Gamma.logGamma(px) - Gamma.logGamma(par.q()) + par.q() * Math.log(par.v())
        + (px - 1) * Math.log(s.mean()) + px * Math.log(s.x()) - (px + par.q()) * Math.log(s.x() * s.mean() + par.v());
  }

  /**
   * Spend histories as arrays, each pointing at its x among the distinct ones: the log-gammas,
   * which depend on x alone, are computed once per distinct x and evaluation (mean repeat values
   * are continuous, so there is a history per repeat buyer, and a few dozen distinct x).
   */
  private record Prepared(double[] distinctX, int[] xAt, double[] mean, double[] logMean, double[] count) {
    static Prepared of(List<Spend> spends) {
      double[] distinct = spends.stream().mapToDouble(Spend::x).distinct().sorted().toArray();
      int n = spends.size();
      int[] at = new int[n];
      double[] mean = new double[n];
      double[] logMean = new double[n];
      double[] count = new double[n];
      for (int i = 0; i < n; i++) {
        Spend s = spends.get(i);
        at[i] = java.util.Arrays.binarySearch(distinct, s.x());
        mean[i] = s.mean();
        logMean[i] = Math.log(s.mean());
        count[i] = s.count();
      }
      return new Prepared(distinct, at, mean, logMean, count);
    }
  }

  /**
   * {@link #logLikelihood(Params, Spend)} times each count, summed on the driver's cores (the same
   * bits on any number of them).
   */
  private static double logLikelihood(Params par, Prepared h) {
    int m = h.distinctX().length;
    double[] common = new double[m];
    double[] logX = new double[m];
    double logGammaQ = Gamma.logGamma(par.q());
    double qLogV = par.q() * Math.log(par.v());
    for (int j = 0; j < m; j++) {
      double px = par.p() * h.distinctX()[j];
      common[j] = Gamma.logGamma(px + par.q()) - Gamma.logGamma(px) - logGammaQ + qLogV;
      logX[j] = Math.log(h.distinctX()[j]);
    }
    return io.github.personas.pipeline.engine.OrderedSum.of(h.xAt().length, i -> {
      int j = h.xAt()[i];
      double x = h.distinctX()[j];
      double px = par.p() * x;
      double ll = common[j] + (px - 1) * h.logMean()[i] + px * logX[j] - (px + par.q()) * Math.log(x * h.mean()[i] + par.v());
      return h.count()[i] * ll;
    });
  }

  /**
   * Maximum-likelihood parameters.
   *
   * @param penalty L2 penalty on the parameters (penalty times the sum of their squares, per buyer), 0 for none
   */
  public static Fit fit(List<Spend> spends, double penalty) {
    Objects.requireNonNull(spends, "spends");
    if (spends.isEmpty()) {
      throw new IllegalArgumentException("No repeat buyer to fit");
    }
    long buyers = spends.stream().mapToLong(Spend::count).sum();
    Prepared prepared = Prepared.of(spends);
    BoxSearch.Found found = BoxSearch.minimize(logs -> {
      Params par = new Params(Math.exp(logs[0]), Math.exp(logs[1]), Math.exp(logs[2]));
      double ll = logLikelihood(par, prepared);
      double v = -ll / buyers + penalty * (par.p() * par.p() + par.q() * par.q() + par.v() * par.v());
      return Double.isFinite(v) ? v : Double.MAX_VALUE;
    }, 3);
    double[] x = found.point();
    Params params = new Params(Math.exp(x[0]), Math.exp(x[1]), Math.exp(x[2]));
    double ll = logLikelihood(params, prepared);
    return new Fit(params, ll, found.evaluations(), buyers);
  }

  /**
   * E[M | x, mean]: the expected order value of a customer with {@code x} repeat orders of mean
   * {@code mean}; the population's mean for a customer without repeat orders.
   */
  public static double expectedOrderValue(Params par, double x, double mean) {
    if (x <= 0) {
      return par.populationMean();
    }
    return par.p() * (par.v() + x * mean) / (par.p() * x + par.q() - 1);
  }
}
