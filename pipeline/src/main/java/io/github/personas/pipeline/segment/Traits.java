package io.github.personas.pipeline.segment;

import java.util.Locale;

/** A persona's defining trait in plain words with numbers: its statistic of a column beside every user's. */
public final class Traits {

  private Traits() {}

  /**
   * E.g. "frequency: median 12 vs 3 for all users (4.0×)" or "uninstalled: mean 0.02 vs 0.11 for
   * all users (0.2×)": the same statistic of the same column (the input's {@code describe}), in
   * natural units, for the persona and for every user, so both numbers can be recomputed from the
   * features table; named by the input, which is shorter than its column's SQL.
   */
  public static String describe(PersonaProfiles.Trait t) {
    String head = String.format(Locale.ROOT, "%s: %s %s vs %s for all users", t.input(), t.statistic(),
        number(t.value()), number(t.population()));
    if (t.population() > 0 && t.value() >= 0 && !Double.isNaN(t.value())) {
      double ratio = t.value() / t.population();
      return ratio >= 0.995 && ratio < 1.005 ? head + " (about the same)"
          : head + String.format(Locale.ROOT, " (%.1f×)", ratio);
    }
    return head;
  }

  /** A whole number as it is, else two decimals, with thousands separators; "none" for a statistic over no values. */
  public static String number(double x) {
    if (Double.isNaN(x)) {
      return "none";
    }
    return String.format(Locale.ROOT, x == Math.rint(x) ? "%,.0f" : "%,.2f", x);
  }
}
