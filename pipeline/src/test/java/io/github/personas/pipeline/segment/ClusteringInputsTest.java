package io.github.personas.pipeline.segment;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class ClusteringInputsTest {

  /** Orders, money and the payer flag as measured on 100k generated users (correlations, unit variances). */
  private static final double[][] COV = {
      {1, 0.9712, 0.8413},   // log orders
      {0.9712, 1, 0.8874},   // log money
      {0.8413, 0.8874, 1}};  // payer

  @Test
  void withoutOtherInputsThePartialCorrelationIsThePlainOne() {
    assertEquals(0.9712, ClusteringInputs.partialCorrelation(COV, 0, 1, List.of(0)), 1e-12);
  }

  @Test
  void givenThePayerFlagOrdersAndMoneyCorrelateAsTheyDoAmongBuyers() {
    // (r_om - r_op r_mp) / sqrt((1 - r_op^2)(1 - r_mp^2)), worked by hand: 0.2246 / 0.2492
    assertEquals(0.9012, ClusteringInputs.partialCorrelation(COV, 0, 1, List.of(0, 2)), 5e-4);
  }

  @Test
  void anInputThatIsAFunctionOfAnotherKeepsCorrelationOneEvenWhenTheBlockIsSingular() {
    double[][] cov = {{1, 1, 0.5}, {1, 1, 0.5}, {0.5, 0.5, 1}};
    assertEquals(1.0, ClusteringInputs.partialCorrelation(cov, 0, 1, List.of(0, 2)), 1e-12);
  }

  @Test
  void theSampleCovarianceDividesByOneLessThanTheUsers() {
    double[][] cov = ClusteringInputs.covariance(new double[][] {{1, 2}, {2, 4}, {3, 6}}, 2);
    assertEquals(1.0, cov[0][0], 1e-12);
    assertEquals(2.0, cov[0][1], 1e-12);
    assertEquals(2.0, cov[1][0], 1e-12);
    assertEquals(4.0, cov[1][1], 1e-12);
  }

  @Test
  void aConstantInputAndTheLaterOfTwinInputsAreLeftOutWithTheirReasons() {
    // a varies, b = 2a on the sample (a twin), c is 3 for every user clustered, d varies on its own.
    ClusteringInputs.Measured measured = new ClusteringInputs.Measured(new long[0], 4,
        new boolean[] {false, false, true, false}, new double[] {0, 0, 3, 0}, new double[4], new double[] {1, 2, 0, 1});
    double[][] sample = {{1, 2, 3, 5}, {2, 4, 3, 1}, {3, 6, 3, 4}, {4, 8, 3, 2}};
    ClusteringInputs.Choice chosen = ClusteringInputs.choose(List.of("a", "b", "c", "d"), measured, sample, 0.95);
    assertEquals(List.of("a", "d"), chosen.kept());
    assertEquals(List.of(
        "b: correlated with a (r = 1.000 given the other inputs kept, personas.personas.max_correlation = 0.95), which is kept",
        "c: the same value (3.000) for every user clustered"), chosen.leftOut());
  }
}
