package io.github.personas.pipeline.predict;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;

import java.time.LocalDate;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * The purchase models' view of the features table: each buyer's history (x, t_x, T) in a time
 * unit, and the mean value of their repeat purchases, as Fader, Hardie and Lee summarise a
 * customer: transactions are purchase days (same-day orders merged), times are counted from the
 * first purchase, and the first day's spend is not a repeat purchase's.
 */
public final class PurchaseHistories {

  /** Columns of {@link #perUser}. */
  public static final String X = "x";
  public static final String TX = "t_x";
  public static final String T = "t";
  public static final String MEAN_REPEAT_VALUE = "mean_repeat_value";

  private PurchaseHistories() {}

  /**
   * One row per buyer of {@code features}: user_id, x, t_x, t, mean_repeat_value (null without
   * repeat purchases).
   *
   * @param runDate  the end of the observation, D
   * @param unitDays days in the time unit: 1 for days, 7 for weeks
   */
  public static Dataset<Row> perUser(Dataset<Row> features, LocalDate runDate, double unitDays) {
    Column[] h = columns(runDate, unitDays);
    return features.where(BUYER).select(col("user_id"), h[0].as(X), h[1].as(TX), h[2].as(T), h[3].as(MEAN_REPEAT_VALUE));
  }

  /** The features {@link #columns} read. */
  public static final List<String> READS = List.of("purchase_days", "first_purchase_date", "last_purchase_date",
      "monetary", "first_purchase_day_revenue");

  /** Whether a features row is a buyer's: only buyers have a history. */
  public static final Column BUYER = col("purchase_days").gt(0);

  /**
   * x, t_x, T and the mean repeat value as expressions over a features row (meaningful where
   * {@link #BUYER}): the columns of {@link #perUser}, for scoring every user in place.
   */
  public static Column[] columns(LocalDate runDate, double unitDays) {
    if (!(unitDays > 0)) {
      throw new IllegalArgumentException(String.format("unitDays must be positive, got %s", unitDays));
    }
    String d = "DATE'" + runDate + "'";
    return new Column[] {
        expr("CAST(purchase_days - 1 AS DOUBLE)"),
        // Doubles: "7.0" is a decimal literal to Spark SQL, which would make the quotient a decimal.
        expr("CAST(datediff(last_purchase_date, first_purchase_date) AS DOUBLE)").divide(unitDays),
        expr("CAST(datediff(" + d + ", first_purchase_date) AS DOUBLE)").divide(unitDays),
        // Refunds net into the repeat value as they do into monetary.
        expr("CASE WHEN purchase_days > 1 THEN (monetary - coalesce(first_purchase_day_revenue, 0D))"
            + " / (purchase_days - 1) END")};
  }

  /** The distinct histories of {@code perUser} with how many buyers share each: what BG/NBD is fitted on. */
  public static List<BgNbd.History> histories(Dataset<Row> perUser) {
    return perUser.groupBy(X, TX, T).count().collectAsList().stream()
        .map(r -> new BgNbd.History(r.getDouble(0), r.getDouble(1), r.getDouble(2), r.getLong(3))).toList();
  }

  /**
   * The distinct spend histories of repeat buyers with a positive mean repeat value: what
   * Gamma-Gamma is fitted on. Buyers whose refunds outweigh their repeat purchases are left out.
   */
  public static List<GammaGamma.Spend> spends(Dataset<Row> perUser) {
    return perUser.where(col(X).gt(0).and(col(MEAN_REPEAT_VALUE).gt(0))).groupBy(X, MEAN_REPEAT_VALUE).count()
        .collectAsList().stream().map(r -> new GammaGamma.Spend(r.getDouble(0), r.getDouble(1), r.getLong(2)))
        .toList();
  }
}
