package io.github.personas.pipeline.segment;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalInt;

/**
 * Chooses the number of k-means clusters from a curve of candidates: silhouette first, the knee
 * of the cost curve and the previous run's k to break near-ties.
 *
 * <p>Silhouette alone tends to reward a coarse split that is obvious but useless to a marketer
 * (buyers versus the rest); cost alone always falls with k. So candidates whose silhouette is
 * within a tolerance of the best are treated as equally good, and among them the one nearest the
 * knee of the cost curve wins. The previous run's k is kept unless another k beats its silhouette
 * by more than a margin, so personas stay stable from night to night.
 */
public final class KSelection {

  /**
   * One candidate k, fitted on the selection sample.
   *
   * @param k          clusters asked for
   * @param found      clusters k-means returned with at least one user (fewer than k when the
   *                   data has fewer distinct points)
   * @param cost       within-cluster sum of squared distances on the sample (standardised units)
   * @param silhouette mean silhouette on the sample (squared Euclidean), NaN with fewer than two
   *                   clusters
   */
  public record Candidate(int k, int found, double cost, double silhouette) {}

  /**
   * The decision.
   *
   * @param k      the chosen k
   * @param knee   the knee of the cost curve, or -1 when the curve has none
   * @param reason one sentence for the summary and the log
   */
  public record Choice(int k, int knee, String reason) {}

  private KSelection() {}

  /**
   * The knee of a falling cost curve: the candidate farthest below the straight line from the
   * first to the last point, both axes scaled to [0, 1] (the "kneedle" idea).
   *
   * @return the knee's k, or empty with fewer than three candidates or a curve with no bend
   */
  public static OptionalInt knee(List<Candidate> curve) {
    if (curve.size() < 3) {
      return OptionalInt.empty();
    }
    List<Candidate> sorted = curve.stream().sorted(Comparator.comparingInt(Candidate::k)).toList();
    double k0 = sorted.get(0).k();
    double k1 = sorted.get(sorted.size() - 1).k();
    double cMax = sorted.stream().mapToDouble(Candidate::cost).max().orElseThrow();
    double cMin = sorted.stream().mapToDouble(Candidate::cost).min().orElseThrow();
    if (cMax - cMin <= 0) {
      return OptionalInt.empty();
    }
    double y0 = (sorted.get(0).cost() - cMin) / (cMax - cMin);
    double y1 = (sorted.get(sorted.size() - 1).cost() - cMin) / (cMax - cMin);
    int best = -1;
    double bestGap = 1e-9;
    for (Candidate c : sorted) {
      double x = (c.k() - k0) / (k1 - k0);
      double chord = y0 + (y1 - y0) * x;
      double gap = chord - (c.cost() - cMin) / (cMax - cMin);
      if (gap > bestGap) {
        bestGap = gap;
        best = c.k();
      }
    }
    return best < 0 ? OptionalInt.empty() : OptionalInt.of(best);
  }

  /**
   * Chooses k.
   *
   * @param curve      the candidates, at least one
   * @param tolerance  silhouette difference below which candidates count as equally good
   * @param changeGain silhouette gain over the previous run's k that another k needs to replace it
   *                   (hysteresis: k does not flip between two nearly equal values night after night)
   * @param previousK  the previous run's chosen k, or -1
   */
  public static Choice choose(List<Candidate> curve, double tolerance, double changeGain, int previousK) {
    if (curve.isEmpty()) {
      throw new IllegalArgumentException("No candidate k to choose from");
    }
    int knee = knee(curve).orElse(-1);
    List<Candidate> scored = curve.stream().filter(c -> !Double.isNaN(c.silhouette())).toList();
    if (scored.isEmpty()) {
      Candidate first = curve.stream().min(Comparator.comparingInt(Candidate::k)).orElseThrow();
      return new Choice(first.k(), knee, String.format(
          "no candidate k found two clusters (all users alike?); k = %d", first.k()));
    }
    Candidate best = scored.stream()
        .max(Comparator.comparingDouble(Candidate::silhouette).thenComparing(Candidate::k, Comparator.reverseOrder()))
        .orElseThrow();
    List<Candidate> near = new ArrayList<>();
    for (Candidate c : scored) {
      if (c.silhouette() >= best.silhouette() - tolerance) {
        near.add(c);
      }
    }
    double keep = Math.max(tolerance, changeGain);
    for (Candidate c : scored) {
      if (c.k() == previousK && c.silhouette() >= best.silhouette() - keep) {
        return new Choice(c.k(), knee, String.format(
            "k = %d, the previous run's k: its silhouette %.3f is within %.3f of the best (%.3f at k = %d)",
            c.k(), c.silhouette(), keep, best.silhouette(), best.k()));
      }
    }
    if (knee > 0 && near.size() > 1) {
      Candidate nearest = near.stream()
          .min(Comparator.comparingInt((Candidate c) -> Math.abs(c.k() - knee)).thenComparingInt(Candidate::k))
          .orElseThrow();
      return new Choice(nearest.k(), knee, String.format(
          "k = %d: silhouette %.3f is within %.3f of the best (%.3f at k = %d), and of the %d such candidates"
              + " it is nearest the cost curve's knee at k = %d",
          nearest.k(), nearest.silhouette(), tolerance, best.silhouette(), best.k(), near.size(), knee));
    }
    if (near.size() > 1) {
      return new Choice(best.k(), knee, String.format(
          "k = %d has the best silhouette, %.3f; the cost curve has no knee to choose among the %d candidates"
              + " within %.3f of it", best.k(), best.silhouette(), near.size(), tolerance));
    }
    return new Choice(best.k(), knee, String.format(
        "k = %d has the best silhouette, %.3f, by more than %.3f%s", best.k(), best.silhouette(), tolerance,
        knee > 0 ? String.format(" (the cost curve's knee is at k = %d)", knee) : ""));
  }
}
