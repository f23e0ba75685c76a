package io.github.personas.pipeline.predict;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Lifetime value as expected purchases times order value, month by month discounted. */
class CustomerValueTest {

  private static final BgNbd.Params WEEKS = new BgNbd.Params(0.243, 4.414, 0.793, 2.426);
  private static final BgNbd.History ONE = new BgNbd.History(2, 30.43, 38.86, 1);

  @Test
  void withoutDiscountTheValueIsTheExpectedPurchasesTimesTheOrderValue() {
    double purchases = BgNbd.expectedPurchases(WEEKS, ONE, 365 / 7.0);
    assertEquals(purchases * 40, CustomerValue.discounted(WEEKS, ONE, 7, 40, 365, 0), 1e-9);
  }

  @Test
  void eachMonthIsDiscountedOnceMoreThanTheOneBefore() {
    double first = BgNbd.expectedPurchases(WEEKS, ONE, 30 / 7.0);
    double second = BgNbd.expectedPurchases(WEEKS, ONE, 60 / 7.0) - first;
    double third = BgNbd.expectedPurchases(WEEKS, ONE, 65 / 7.0) - first - second; // 5 days of a third month
    double expected = 40 * (first / 1.01 + second / (1.01 * 1.01) + third / Math.pow(1.01, 3));
    assertEquals(expected, CustomerValue.discounted(WEEKS, ONE, 7, 40, 65, 0.01), 1e-9);
    assertTrue(CustomerValue.discounted(WEEKS, ONE, 7, 40, 65, 0.01) < CustomerValue.discounted(WEEKS, ONE, 7, 40, 65, 0));
  }

  @Test
  void theSameHistoryInDaysAndInWeeksHasTheSameValue() {
    BgNbd.Params days = new BgNbd.Params(WEEKS.r(), WEEKS.alpha() * 7, WEEKS.a(), WEEKS.b());
    BgNbd.History inDays = new BgNbd.History(2, 30.43 * 7, 38.86 * 7, 1);
    assertEquals(CustomerValue.discounted(WEEKS, ONE, 7, 40, 365, 0.01),
        CustomerValue.discounted(days, inDays, 1, 40, 365, 0.01), 1e-9);
    assertEquals(0.0, CustomerValue.discounted(WEEKS, ONE, 7, 40, 0, 0.01));
  }

  /**
   * lifetimes' documented CLV of the first CDNOW customers (its Gamma-Gamma tutorial: both models
   * fitted without penalty, time = 12, discount_rate = 0.01). Its example passes weekly summaries
   * with the default freq = "D", so its twelve "months" are steps of 30 weeks: the same computation
   * here with a time unit of one day on the weekly numbers gives its figures to 7 digits, which
   * checks the conditional expectation, the spend model and the discounting together.
   */
  @Test
  void lifetimesDocumentedValuesOfTheFirstCdnowCustomersAreReproduced() {
    java.util.List<String[]> rows = CdnowSummaries.rows("cdnow_customers_summary_with_transactions.csv");
    java.util.List<GammaGamma.Spend> spends = new java.util.ArrayList<>();
    for (String[] r : rows) {
      if (Double.parseDouble(r[1]) > 0) {
        spends.add(new GammaGamma.Spend(Double.parseDouble(r[1]), Double.parseDouble(r[4]), 1));
      }
    }
    BgNbd.Params bg = BgNbd.fit(CdnowSummaries.histories(1), 0).params();
    GammaGamma.Params gg = GammaGamma.fit(spends, 0).params();
    //                      customer:  1           2          3          6            7          9
    double[] documented = {140.096211, 18.943467, 38.180574, 1003.868107, 28.109683, 167.418216};
    int[] customers = {1, 2, 3, 6, 7, 9};
    for (int i = 0; i < customers.length; i++) {
      String[] r = rows.get(customers[i] - 1);
      double x = Double.parseDouble(r[1]);
      BgNbd.History h = new BgNbd.History(x, Double.parseDouble(r[2]), Double.parseDouble(r[3]), 1);
      double value = CustomerValue.discounted(bg, h, 1, GammaGamma.expectedOrderValue(gg, x, Double.parseDouble(r[4])),
          12 * CustomerValue.MONTH_DAYS, 0.01);
      assertEquals(documented[i], value, documented[i] * 1e-5, "customer " + customers[i]);
    }
  }
}
