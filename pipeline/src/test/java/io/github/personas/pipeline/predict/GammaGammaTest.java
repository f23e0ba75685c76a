package io.github.personas.pipeline.predict;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Gamma-Gamma against the published fit on the CDNOW sample's repeat buyers. */
class GammaGammaTest {

  @Test
  void theCdnowSamplesRepeatBuyersGiveThePublishedParameters() {
    List<GammaGamma.Spend> spends = new ArrayList<>();
    for (String[] r : CdnowSummaries.rows("cdnow_customers_summary_with_transactions.csv")) {
      double x = Double.parseDouble(r[1]);
      if (x > 0) {
        spends.add(new GammaGamma.Spend(x, Double.parseDouble(r[4]), 1));
      }
    }
    GammaGamma.Fit fit = GammaGamma.fit(spends, 0);
    assertEquals(946, fit.buyers());
    assertEquals(6.25, fit.params().p(), 0.01, "p");
    assertEquals(3.74, fit.params().q(), 0.01, "q");
    assertEquals(15.44, fit.params().v(), 0.01, "v");
  }

  @Test
  void theExpectedOrderValueShrinksAFewOrdersTowardsThePopulationMean() {
    GammaGamma.Params p = new GammaGamma.Params(6.25, 3.74, 15.44);
    double population = p.populationMean();
    assertEquals(6.25 * 15.44 / 2.74, population, 1e-9);
    double one = GammaGamma.expectedOrderValue(p, 1, 100);
    double many = GammaGamma.expectedOrderValue(p, 50, 100);
    assertEquals(population, GammaGamma.expectedOrderValue(p, 0, 0), 1e-12, "no repeat order: the population's");
    assertEquals(true, one > population && one < many && many < 100, one + " " + many);
  }
}
