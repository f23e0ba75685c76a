package io.github.personas.pipeline.segment;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.personas.pipeline.testing.SparkTestSession;
import java.util.List;
import org.junit.jupiter.api.Test;

class PersonaExplainerTest {

  private static final List<PersonaExplainer.Input> INPUTS = List.of(new PersonaExplainer.Input("frequency"),
      new PersonaExplainer.Input("share"), new PersonaExplainer.Input("noise"));

  /** A grid of users: frequency 0..9, share 0.00..0.95, noise 0..3; the persona is given by {@code inPersona}. */
  private static Object[] grid(java.util.function.BiPredicate<Integer, Double> inPersona) {
    int n = 10 * 20 * 4;
    double[][] points = new double[n][];
    int[] groups = new int[n];
    int u = 0;
    for (int f = 0; f < 10; f++) {
      for (int s = 0; s < 20; s++) {
        for (int noise = 0; noise < 4; noise++) {
          double share = s / 20.0;
          points[u] = new double[] {f, share, noise};
          groups[u++] = inPersona.test(f, share) ? 1 : 0;
        }
      }
    }
    return new Object[] {points, groups};
  }

  private static String explain(java.util.function.BiPredicate<Integer, Double> inPersona) {
    Object[] g = grid(inPersona);
    return new PersonaExplainer(INPUTS, 7).explain(SparkTestSession.get(), (double[][]) g[0], (int[]) g[1], 1);
  }

  @Test
  void aBoxIsFoundExactlyAndWholeNumbersReadAsTheyAreCounted() {
    assertEquals("frequency >= 6 AND share <= 0.3", explain((f, s) -> f > 5 && s <= 0.3));
  }

  @Test
  void aPersonaOfTwoBoxesIsTheirUnionAndTheNoiseInputIsNotInTheRule() {
    assertEquals("frequency <= 1 OR share > 0.8", explain((f, s) -> f <= 1 || s > 0.8));
  }

  @Test
  void lowerAndUpperBoundsOnOneWholeNumberInputReadAsEquality() {
    assertEquals("frequency = 4", explain((f, s) -> f == 4));
  }

  @Test
  void aCountAtItsLeastValueReadsAsEquality() {
    assertEquals("frequency = 0", explain((f, s) -> f == 0));
  }

  @Test
  void aPersonaOfEveryoneOrNoOneHasTheTrivialRule() {
    assertEquals("true", explain((f, s) -> true));
    assertEquals(PersonaExplainer.NO_RULE, explain((f, s) -> false));
  }

  @Test
  void expressionsReadInsideARuleAsTheyAreOrInParentheses() {
    assertEquals("frequency", PersonaExplainer.sqlOf("frequency"));
    assertEquals("least(tenure_days, 30)", PersonaExplainer.sqlOf("least(tenure_days, 30)"));
    assertEquals("coalesce(CAST(a AS DOUBLE), 0)", PersonaExplainer.sqlOf("coalesce(CAST(a AS DOUBLE), 0)"));
    assertEquals("(monetary / frequency)", PersonaExplainer.sqlOf("monetary / frequency"));
    assertEquals("(NOT(uninstalled))", PersonaExplainer.sqlOf("NOT(uninstalled)"), "NOT binds looser than >=");
  }
}
