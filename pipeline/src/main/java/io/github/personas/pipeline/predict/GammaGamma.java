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
    BoxSearch.Found found = BoxSearch.minimize(logs -> {
      Params par = new Params(Math.exp(logs[0]), Math.exp(logs[1]), Math.exp(logs[2]));
      double ll = 0;
      for (Spend s : spends) {
        ll += s.count() * logLikelihood(par, s);
      }
      double v = -ll / buyers + penalty * (par.p() * par.p() + par.q() * par.q() + par.v() * par.v());
      return Double.isFinite(v) ? v : Double.MAX_VALUE;
    }, 3);
    double[] x = found.point();
    Params params = new Params(Math.exp(x[0]), Math.exp(x[1]), Math.exp(x[2]));
    double ll = 0;
    for (Spend s : spends) {
      ll += s.count() * logLikelihood(params, s);
    }
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
