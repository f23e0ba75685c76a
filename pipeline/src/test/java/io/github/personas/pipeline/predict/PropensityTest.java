package io.github.personas.pipeline.predict;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.sql.Date;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/** Labels from what users did after the backtest date, a model that learns them, and its held-out figures. */
class PropensityTest {

  private static final LocalDate BACKTEST = LocalDate.parse("2024-02-09");
  private static final StructType BACKTEST_SCHEMA = new StructType()
      .add("user_id", DataTypes.StringType).add("recency_days", DataTypes.IntegerType)
      .add("frequency", DataTypes.LongType);
  private static final StructType CURRENT_SCHEMA = new StructType()
      .add("user_id", DataTypes.StringType).add("last_purchase_date", DataTypes.DateType)
      .add("days_inactive", DataTypes.IntegerType);

  private final SparkSession spark = SparkTestSession.get();

  private static PersonasConfig.Propensity config(String classifier) {
    return new PersonasConfig.Propensity(true, 30, classifier, 0.2, 200_000, List.of("recency_days", "frequency"));
  }

  @Test
  void labelsAreWhatEachUserDidInTheHorizonAfterTheBacktestDate() {
    Dataset<Row> backtest = spark.createDataFrame(List.of(
        RowFactory.create("bought_after", 3, 2L),
        RowFactory.create("bought_before_only", 10, 1L),
        RowFactory.create("never_bought", null, 0L)), BACKTEST_SCHEMA);
    Dataset<Row> current = spark.createDataFrame(List.of(
        //                user                  last purchase                              days inactive at D
        RowFactory.create("bought_after", Date.valueOf("2024-02-10"), 2),
        RowFactory.create("bought_before_only", Date.valueOf("2024-02-09"), 30),
        RowFactory.create("never_bought", null, 29),
        RowFactory.create("new_since", Date.valueOf("2024-03-01"), 0)), CURRENT_SCHEMA);
    Propensity p = new Propensity(config("gbt"));
    Dataset<Row> labelled = p.labelled(backtest, current, BACKTEST);
    Map<String, Double> purchase = labels(labelled, "purchase_label");
    Map<String, Double> churn = labels(labelled, "churn_label");
    // Users first seen after the backtest date are not in it: nothing to learn from as of then.
    assertEquals(Map.of("bought_after", 1.0, "bought_before_only", 0.0, "never_bought", 0.0), purchase);
    // Churned: no activity in the 30 days, days_inactive reached 30; 29 days silent is still active.
    assertEquals(Map.of("bought_after", 0.0, "bought_before_only", 1.0, "never_bought", 0.0), churn);
  }

  private static Map<String, Double> labels(Dataset<Row> labelled, String label) {
    return labelled.select("user_id", label).collectAsList().stream()
        .collect(Collectors.toMap(r -> r.getString(0), r -> r.getDouble(1)));
  }

  @Test
  void eitherClassifierLearnsARecencyRuleAndIsMeasuredOnHeldOutUsers() {
    List<Row> back = new ArrayList<>();
    List<Row> now = new ArrayList<>();
    java.util.Random random = new java.util.Random(7);
    for (int i = 0; i < 3000; i++) {
      int recency = random.nextInt(200);
      // Recent buyers come back 80 % of the time, the others 10 %.
      boolean buys = random.nextDouble() < (recency < 60 ? 0.8 : 0.1);
      back.add(RowFactory.create("u" + i, recency, 1L + random.nextInt(3)));
      now.add(RowFactory.create("u" + i, Date.valueOf(buys ? "2024-02-20" : "2024-01-01"), buys ? 5 : 40));
    }
    for (String classifier : List.of("gbt", "logistic")) {
      Propensity p = new Propensity(config(classifier));
      Dataset<Row> labelled = p.labelled(spark.createDataFrame(back, BACKTEST_SCHEMA),
          spark.createDataFrame(now, CURRENT_SCHEMA), BACKTEST);
      Propensity.Trained t = p.train(labelled, Propensity.Outcome.PURCHASE);
      Discrimination.Figures f = t.figures();
      assertEquals(3000, t.trainUsers() + f.users(), classifier + ": every user trains or is held out");
      assertEquals(0.2, (double) f.users() / 3000, 0.03, classifier + ": about test_share held out");
      // The rule's own AUC, the best any score gets: P(recent | buyer) = 0.24 / 0.31, P(recent | not) = 0.06 / 0.69,
      // so 0.774 x 0.913 + (0.774 x 0.087 + 0.226 x 0.913) / 2 = 0.84.
      assertEquals(0.84, f.aucRoc(), 0.05, classifier + " AUC");
      // About 60 held-out users a tenth: 0.8 give or take three standard errors (0.05 each).
      assertEquals(0.8, f.deciles().get(0).observedRate(), 0.15, classifier + ": the top tenth are recent users");
      Dataset<Row> scored = Propensity.score(t, spark.createDataFrame(List.of(
          RowFactory.create("recent", 5, 1L), RowFactory.create("lapsed", 150, 1L)), BACKTEST_SCHEMA), 30);
      Map<String, Double> s = scored.collectAsList().stream()
          .collect(Collectors.toMap(r -> r.getString(0), r -> r.getDouble(3)));
      assertEquals(List.of("user_id", "recency_days", "frequency", "purchase_propensity_30d"),
          List.of(scored.columns()));
      assertEquals(0.8, s.get("recent"), 0.1, classifier);
      assertEquals(0.1, s.get("lapsed"), 0.1, classifier);
    }
  }

  @Test
  void tooFewUsersOrOutcomesGiveNoModel() {
    List<Row> back = new ArrayList<>();
    List<Row> now = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      back.add(RowFactory.create("u" + i, i, 1L));
      now.add(RowFactory.create("u" + i, Date.valueOf(i < 150 ? "2024-02-20" : "2024-01-01"), 5));
    }
    Propensity p = new Propensity(config("gbt"));
    Dataset<Row> labelled = p.labelled(spark.createDataFrame(back, BACKTEST_SCHEMA),
        spark.createDataFrame(now, CURRENT_SCHEMA), BACKTEST);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> p.train(labelled, Propensity.Outcome.PURCHASE));
    assertTrue(e.getMessage().contains("needs 500 users"), e.getMessage());
  }
}
