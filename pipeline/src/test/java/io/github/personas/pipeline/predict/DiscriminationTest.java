package io.github.personas.pipeline.predict;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** AUC-ROC, average precision and deciles against scikit-learn's documented values and by hand. */
class DiscriminationTest {

  private static List<Discrimination.Scored> scored(double[] scores, int... outcomes) {
    List<Discrimination.Scored> out = new ArrayList<>();
    for (int i = 0; i < scores.length; i++) {
      out.add(new Discrimination.Scored(scores[i], outcomes[i] == 1, i));
    }
    return out;
  }

  @Test
  void matchesScikitLearnsDocumentedExample() {
    // roc_auc_score and average_precision_score docs: y = [0, 0, 1, 1], scores [0.1, 0.4, 0.35, 0.8].
    Discrimination.Figures f = Discrimination.of(scored(new double[] {0.1, 0.4, 0.35, 0.8}, 0, 0, 1, 1));
    assertEquals(0.75, f.aucRoc(), 1e-12);
    assertEquals(0.8333333333333333, f.aucPr(), 1e-12);
    assertEquals(0.5, f.baseRate(), 1e-12);
  }

  @Test
  void tiedScoresCountHalfAsInMannWhitney() {
    // Every pair tied: chance, whatever the order the ties are listed in.
    assertEquals(0.5, Discrimination.of(scored(new double[] {0.3, 0.3, 0.3, 0.3}, 1, 0, 0, 1)).aucRoc(), 1e-12);
    // Positive 0.9 above both negatives (2 pairs), positive 0.5 level with one negative (0.5) and above one (1).
    Discrimination.Figures f = Discrimination.of(scored(new double[] {0.9, 0.5, 0.5, 0.1}, 1, 1, 0, 0));
    assertEquals(3.5 / 4, f.aucRoc(), 1e-12);
    // Average precision at thresholds 0.9 (recall 1/2, precision 1) and 0.5 (recall 1, precision 2/3).
    assertEquals(0.5 * 1 + 0.5 * 2.0 / 3, f.aucPr(), 1e-12);
  }

  @Test
  void decilesAreTenthsByScoreHighestFirstWithTheirObservedRates() {
    double[] s = new double[20];
    int[] y = new int[20];
    for (int i = 0; i < 20; i++) {
      s[i] = i / 20.0;
      y[i] = i >= 16 ? 1 : 0; // the top four scores are the positives
    }
    Discrimination.Figures f = Discrimination.of(scored(s, y));
    assertEquals(10, f.deciles().size());
    assertEquals(new Discrimination.Decile(1, 2, (0.95 + 0.9) / 2, 1.0), f.deciles().get(0));
    assertEquals(new Discrimination.Decile(2, 2, (0.85 + 0.8) / 2, 1.0), f.deciles().get(1));
    assertEquals(0.0, f.deciles().get(9).observedRate());
    assertEquals(1.0 / 0.2, f.topDecileLift(), 1e-12);
    assertEquals(1.0, f.aucRoc(), 1e-12);
  }

  @Test
  void refusesScoresWhoseUsersAllHadTheSameOutcome() {
    assertThrows(IllegalArgumentException.class, () -> Discrimination.of(scored(new double[] {0.1, 0.2}, 1, 1)));
  }
}
