package io.github.personas.pipeline.predict;

/**
 * Customer lifetime value over a horizon: the purchases BG/NBD expects month by month, times the
 * order value Gamma-Gamma expects, each month discounted, as lifetimes' customer_lifetime_value
 * computes it (months of 30 days, the last one partial when the horizon is not a whole number of
 * months).
 */
public final class CustomerValue {

  /** Days in the months the discounting steps by. */
  public static final int MONTH_DAYS = 30;

  private CustomerValue() {}

  /**
   * The discounted value of a customer's purchases in the next {@code horizonDays}.
   *
   * @param history         the customer's history, in the time unit of {@code params}
   * @param unitDays        days in that time unit (1 for days, 7 for weeks)
   * @param orderValue      the expected value of one order
   * @param monthlyDiscount the discount rate per month (0.01 for 1 %)
   */
  public static double discounted(BgNbd.Params params, BgNbd.History history, double unitDays, double orderValue,
                                  int horizonDays, double monthlyDiscount) {
    if (horizonDays < 0 || !(unitDays > 0) || !(monthlyDiscount > -1)) {
      throw new IllegalArgumentException(String.format(
          "horizonDays >= 0, unitDays > 0 and monthlyDiscount > -1 needed, got %s, %s, %s", horizonDays, unitDays,
          monthlyDiscount));
    }
    return discounted(days -> BgNbd.expectedPurchases(params, history, days / unitDays), orderValue, horizonDays,
        monthlyDiscount);
  }

  /**
   * The discounted value of a customer's purchases in the next {@code horizonDays}, from the
   * expected purchases up to a number of days: a caller scoring several horizons can remember
   * the month ends they share.
   *
   * @param expectedUpTo the expected purchases in the next so many days
   */
  public static double discounted(java.util.function.IntToDoubleFunction expectedUpTo, double orderValue,
                                  int horizonDays, double monthlyDiscount) {
    double value = 0;
    double before = 0;
    int month = 0;
    for (int end = 0; end < horizonDays; ) {
      end = Math.min(end + MONTH_DAYS, horizonDays);
      month++;
      double upTo = expectedUpTo.applyAsDouble(end);
      value += (upTo - before) * orderValue / Math.pow(1 + monthlyDiscount, month);
      before = upTo;
    }
    return value;
  }
}
