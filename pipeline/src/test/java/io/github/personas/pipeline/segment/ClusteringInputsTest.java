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
}
