package io.github.personas.pipeline.evaluate;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;

import io.github.personas.pipeline.predict.Discrimination;
import io.github.personas.pipeline.predict.Propensity;
import java.time.LocalDate;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * How a date's predictions did, once the period they predicted is over: each score of the
 * predictions of D against what its users did in (D, D2], read from the features of D2.
 *
 * <p>Scores of buying ({@code purchase_propensity_*}, {@code expected_purchases_*}, {@code p_alive},
 * {@code clv_*}) are measured against a purchase in the period; {@code churn_risk_*} against no
 * activity in it ({@code days_inactive} as of D2 at least D2 - D). Users without a score (who never
 * bought, for the purchase model) are left out of that score's figures.
 */
public final class PredictionCheck {

  /** Users the figures are computed on at most: a hash sample beyond it, the same every time. */
  public static final long MAX_USERS = 2_000_000L;

  /**
   * The figures of one score.
   *
   * @param score   the predictions column
   * @param outcome "purchase" or "inactive"
   * @param figures its discrimination
   */
  public record ScoreCheck(String score, String outcome, Discrimination.Figures figures) {}

  private PredictionCheck() {}

  /**
   * Every score column of {@code predictions} (of date {@code date}) against the outcomes read
   * from {@code laterFeatures} (of date {@code later}).
   *
   * @throws IllegalArgumentException when {@code later} is not after {@code date}
   */
  public static List<ScoreCheck> check(Dataset<Row> predictions, LocalDate date, Dataset<Row> laterFeatures,
                                       LocalDate later) {
    if (!later.isAfter(date)) {
      throw new IllegalArgumentException(String.format("The outcome date %s must be after the predictions' date %s",
          later, date));
    }
    long days = ChronoUnit.DAYS.between(date, later);
    // The outcomes the propensity models learn, over the period checked.
    Dataset<Row> outcomes = laterFeatures.select(col("user_id"),
        expr(Propensity.Outcome.PURCHASE.label(date, (int) days)).as("purchase"),
        expr(Propensity.Outcome.CHURN.label(date, (int) days)).as("inactive"));
    Dataset<Row> joined = predictions.join(outcomes, "user_id");
    long n = joined.count();
    if (n > MAX_USERS) {
      joined = joined.where("pmod(xxhash64('check', user_id), 1000000) < " + Math.round(1e6 * MAX_USERS / n));
    }
    Map<String, String> scores = new LinkedHashMap<>();
    for (String c : predictions.columns()) {
      if (c.matches("(purchase_propensity|expected_purchases|clv)_[0-9]+d|p_alive")) {
        scores.put(c, "purchase");
      } else if (c.matches("churn_risk_[0-9]+d")) {
        scores.put(c, "inactive");
      }
    }
    List<ScoreCheck> out = new ArrayList<>();
    List<String> cols = new ArrayList<>(scores.keySet());
    List<org.apache.spark.sql.Column> select = new ArrayList<>();
    cols.forEach(c -> select.add(col(c).cast("double")));
    select.add(col("purchase"));
    select.add(col("inactive"));
    select.add(expr("xxhash64(user_id)"));
    List<Row> rows = joined.select(select.toArray(org.apache.spark.sql.Column[]::new)).collectAsList();
    for (int i = 0; i < cols.size(); i++) {
      String outcome = scores.get(cols.get(i));
      int label = cols.size() + (outcome.equals("purchase") ? 0 : 1);
      List<Discrimination.Scored> scored = new ArrayList<>();
      for (Row r : rows) {
        if (!r.isNullAt(i)) {
          scored.add(new Discrimination.Scored(r.getDouble(i), r.getBoolean(label), r.getLong(cols.size() + 2)));
        }
      }
      try {
        out.add(new ScoreCheck(cols.get(i), outcome, Discrimination.of(scored)));
      } catch (IllegalArgumentException e) {
        // A score whose users all did, or all did not: no figures to give.
      }
    }
    return out;
  }
}
