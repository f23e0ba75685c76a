package io.github.personas.pipeline.predict;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * How well scores tell the users who did something from those who did not, exactly, on held-out
 * users: AUC-ROC, AUC-PR (average precision), and calibration and lift by decile.
 *
 * <p>Computed on the driver from every (score, outcome) pair rather than from binned thresholds,
 * so two runs on the same users give the same figures and ties count half, as in the
 * Mann-Whitney statistic.
 */
public final class Discrimination {

  /** A scored user: the score, whether the outcome happened, and a key that orders ties the same every run. */
  public record Scored(double score, boolean outcome, long tieKey) {}

  /**
   * One tenth of the users by score, the highest first.
   *
   * @param decile       1 for the highest-scored tenth
   * @param users        its users
   * @param meanScore    their mean score
   * @param observedRate the share of them whose outcome happened
   */
  public record Decile(int decile, long users, double meanScore, double observedRate) {}

  /**
   * The figures.
   *
   * @param users         users scored
   * @param positives     users whose outcome happened
   * @param aucRoc        probability that a random positive scores above a random negative (ties half)
   * @param aucPr         average precision: precision at each positive's rank, averaged over the positives
   * @param baseRate      positives / users
   * @param topDecileLift the top decile's observed rate over the base rate
   * @param deciles       the ten deciles, highest scores first (fewer when there are fewer than ten users)
   */
  public record Figures(long users, long positives, double aucRoc, double aucPr, double baseRate,
                        double topDecileLift, List<Decile> deciles) {
    public Figures {
      deciles = List.copyOf(deciles);
    }

    /** base_rate, auc_roc, auc_pr and top_decile_lift by name, in that order: for a summary or a table. */
    public java.util.Map<String, Double> headline() {
      java.util.Map<String, Double> m = new java.util.LinkedHashMap<>();
      m.put("base_rate", baseRate);
      m.put("auc_roc", aucRoc);
      m.put("auc_pr", aucPr);
      m.put("top_decile_lift", topDecileLift);
      return m;
    }
  }

  private Discrimination() {}

  /**
   * The figures of {@code scored}.
   *
   * @throws IllegalArgumentException when there are no positives or no negatives (no AUC exists)
   */
  public static Figures of(List<Scored> scored) {
    Scored[] s = scored.toArray(Scored[]::new);
    long positives = Arrays.stream(s).filter(Scored::outcome).count();
    long negatives = s.length - positives;
    if (positives == 0 || negatives == 0) {
      throw new IllegalArgumentException(String.format(
          "No AUC for %d users of whom %d had the outcome: both outcomes are needed", s.length, positives));
    }
    Arrays.sort(s, Comparator.comparingDouble(Scored::score).reversed().thenComparingLong(Scored::tieKey));
    double aucRoc = aucRoc(s, positives, negatives);
    double aucPr = averagePrecision(s, positives);
    double baseRate = (double) positives / s.length;
    List<Decile> deciles = deciles(s);
    return new Figures(s.length, positives, aucRoc, aucPr, baseRate, deciles.get(0).observedRate() / baseRate,
        deciles);
  }

  /** Mann-Whitney U over the scores sorted highest first: negatives below each positive, ties half. */
  private static double aucRoc(Scored[] s, long positives, long negatives) {
    double above = 0;
    long negativesSoFar = 0;
    int i = 0;
    while (i < s.length) {
      int j = i;
      long pos = 0;
      long neg = 0;
      while (j < s.length && s[j].score() == s[i].score()) {
        if (s[j].outcome()) {
          pos++;
        } else {
          neg++;
        }
        j++;
      }
      // Positives of this score rank above every negative not yet passed, and level with this score's.
      above += pos * ((double) (negatives - negativesSoFar - neg) + neg / 2.0);
      negativesSoFar += neg;
      i = j;
    }
    return above / ((double) positives * negatives);
  }

  /** Sum over distinct thresholds of (recall gained) x (precision there), as scikit-learn's average_precision_score. */
  private static double averagePrecision(Scored[] s, long positives) {
    double ap = 0;
    long tp = 0;
    int i = 0;
    while (i < s.length) {
      int j = i;
      long pos = 0;
      while (j < s.length && s[j].score() == s[i].score()) {
        pos += s[j].outcome() ? 1 : 0;
        j++;
      }
      tp += pos;
      ap += (double) pos / positives * ((double) tp / j);
      i = j;
    }
    return ap;
  }

  private static List<Decile> deciles(Scored[] s) {
    int tenths = Math.min(10, s.length);
    List<Decile> out = new ArrayList<>();
    for (int d = 0; d < tenths; d++) {
      int from = (int) ((long) s.length * d / tenths);
      int to = (int) ((long) s.length * (d + 1) / tenths);
      double sum = 0;
      long hits = 0;
      for (int k = from; k < to; k++) {
        sum += s[k].score();
        hits += s[k].outcome() ? 1 : 0;
      }
      int n = to - from;
      out.add(new Decile(d + 1, n, sum / n, (double) hits / n));
    }
    return out;
  }
}
