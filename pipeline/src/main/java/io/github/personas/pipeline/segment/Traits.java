package io.github.personas.pipeline.segment;

import java.util.Locale;

/** A persona's defining trait in plain words with numbers, from its centroid and the population's. */
public final class Traits {

  private Traits() {}

  /**
   * E.g. "frequency: 4.2× the average user (12.40 vs 2.95)" or "uninstalled: 0.00 vs 0.11 on average".
   *
   * @param feature    the clustering input
   * @param value      the persona's mean, natural units
   * @param population everyone's mean, natural units
   */
  public static String describe(String feature, double value, double population) {
    if (population > 0 && value >= 0) {
      double ratio = value / population;
      String times = ratio >= 0.995 && ratio < 1.005 ? "about the average user"
          : String.format(Locale.ROOT, "%.1f× the average user", ratio);
      return String.format(Locale.ROOT, "%s: %s (%.2f vs %.2f)", feature, times, value, population);
    }
    return String.format(Locale.ROOT, "%s: %.2f vs %.2f on average", feature, value, population);
  }
}
