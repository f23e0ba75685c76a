package io.github.personas.pipeline.segment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class KSelectionTest {

  private static KSelection.Candidate c(int k, double cost, double silhouette) {
    return new KSelection.Candidate(k, k, cost, silhouette);
  }

  // Cost falls steeply to k = 4 and slowly after: the knee is 4.
  private static final List<KSelection.Candidate> ELBOW = List.of(
      c(2, 1000, 0.50), c(3, 600, 0.55), c(4, 220, 0.70), c(5, 200, 0.71), c(6, 185, 0.62), c(7, 175, 0.60));

  @Test
  void kneeIsThePointFarthestBelowTheChord() {
    assertEquals(4, KSelection.knee(ELBOW).getAsInt());
  }

  @Test
  void aStraightCostLineHasNoKnee() {
    assertTrue(KSelection.knee(List.of(c(2, 30, 0.5), c(3, 20, 0.5), c(4, 10, 0.5))).isEmpty());
  }

  @Test
  void amongNearBestSilhouettesTheKNearestTheKneeWins() {
    KSelection.Choice choice = KSelection.choose(ELBOW, 0.02, 0, -1);
    assertEquals(4, choice.k(), choice.reason());
    assertTrue(choice.reason().contains("knee at k = 4"), choice.reason());
  }

  @Test
  void aClearlyBestSilhouetteWinsOverTheKnee() {
    KSelection.Choice choice = KSelection.choose(ELBOW, 0.005, 0, -1);
    assertEquals(5, choice.k(), choice.reason());
    assertTrue(choice.reason().contains("best silhouette"), choice.reason());
  }

  @Test
  void thePreviousRunsKIsKeptWhenItIsNearlyAsGood() {
    KSelection.Choice choice = KSelection.choose(ELBOW, 0.02, 0, 5);
    assertEquals(5, choice.k());
    assertTrue(choice.reason().contains("previous run"), choice.reason());
    assertEquals(4, KSelection.choose(ELBOW, 0.02, 0.05, 6).k(), "k = 6 is 0.09 worse: the previous k loses");
    assertEquals(6, KSelection.choose(ELBOW, 0.02, 0.10, 6).k(), "k = 6 is kept unless beaten by more than 0.10");
  }

  @Test
  void withoutAnySilhouetteTheSmallestKIsTaken() {
    KSelection.Choice choice = KSelection.choose(List.of(c(3, 0, Double.NaN), c(4, 0, Double.NaN)), 0.02, 0, -1);
    assertEquals(3, choice.k());
  }
}
