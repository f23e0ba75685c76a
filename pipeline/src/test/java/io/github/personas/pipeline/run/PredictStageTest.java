package io.github.personas.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.io.OutputWriter;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

/** The PREDICT stage on a real run's features: one row per user, scores for buyers, the fit in the details. */
class PredictStageTest extends StageTestBase {

  @Test
  void everyUserGetsARowBuyersGetScoresAndTheFitIsInTheDetails() {
    RunContext ctx = staged();
    FeaturesStage features = new FeaturesStage(ctx);
    FeaturesStage.Result f = features.run(new ValidateStage(ctx, caches).run(features.fold()), caches);
    PredictStage.Result r = new PredictStage(ctx).run(f.features(), f.backtest(), caches);
    assertEquals(f.users(), r.users(), "one row per user of the features");
    assertEquals(List.of("user_id", "p_alive", "expected_purchases_30d", "expected_purchases_90d",
        "expected_purchases_365d", "expected_order_value", "clv_30d", "clv_90d", "clv_365d",
        "purchase_propensity_30d", "churn_risk_30d", "value_tier", "propensity_decile", "churn_risk_band"),
        List.of(r.predictions().columns()));
    Dataset<Row> joined = r.predictions().join(f.features(), "user_id");
    long buyers = f.features().where("purchase_days > 0").count();
    assertTrue(buyers > 0, "the fixture has buyers");
    assertEquals(buyers, joined.where("purchase_days > 0 AND p_alive BETWEEN 0 AND 1"
        + " AND expected_purchases_30d >= 0 AND expected_purchases_30d <= expected_purchases_90d"
        + " AND expected_purchases_90d <= expected_purchases_365d AND clv_30d <= clv_365d").count(),
        "every buyer scored, horizons nested");
    assertEquals(f.users() - buyers, joined.where("purchase_days = 0 AND p_alive IS NULL AND clv_365d IS NULL")
        .count(), "users who never bought have no scores");
    for (String key : List.of("r", "alpha", "a", "b", "log_likelihood", "buyers", "histories")) {
      assertTrue(r.details().containsKey(key), key + " in " + r.details());
    }
    assertEquals(buyers, ((Number) r.details().get("buyers")).longValue());
    // What the segment stage reads: every feature, and beside it the very rows of the predictions table.
    Dataset<Row> beside = r.featuresWithPredictions();
    assertTrue(List.of(beside.columns()).containsAll(List.of(f.features().columns())), "every feature kept");
    Dataset<Row> predicted = beside.select(java.util.Arrays.stream(r.predictions().columns())
        .map(org.apache.spark.sql.functions::col).toArray(org.apache.spark.sql.Column[]::new));
    assertEquals(f.users(), beside.count());
    assertEquals(0L, predicted.except(r.predictions()).count() + r.predictions().except(predicted).count(),
        "the predictions beside the features are the table's rows");
    assertEquals(OutputWriter.PREDICTIONS, r.report().tables().get(0).table());
    // Too few users to learn a propensity model: no warning about the ranges of inputs no model read.
    assertEquals(0L, r.predictions().where("purchase_propensity_30d IS NOT NULL OR churn_risk_30d IS NOT NULL")
        .count(), "the fixture trains no propensity model");
    assertTrue(r.report().warnings().stream().anyMatch(w -> w.contains("no purchase_propensity_30d model")),
        r.report().warnings().toString());
    assertTrue(r.report().warnings().stream().noneMatch(w -> w.contains("cannot extrapolate")),
        r.report().warnings().toString());
  }

  @Test
  void tiedScoresAreCutIntoEqualTenthsAndTiersNameWhoNeverBought() {
    RunContext ctx = staged();
    PersonasConfig.Predict cfg = ctx.config().predict();
    org.apache.spark.sql.types.StructType schema = PredictStage.schema(cfg)
        .add("purchase_propensity_30d", org.apache.spark.sql.types.DataTypes.DoubleType)
        .add("churn_risk_30d", org.apache.spark.sql.types.DataTypes.DoubleType)
        .add("is_buyer", org.apache.spark.sql.types.DataTypes.BooleanType);
    List<Row> rows = new java.util.ArrayList<>();
    for (int i = 0; i < 100; i++) {
      // Trees give few distinct scores: 60 users share the lowest, as inactive users do.
      double propensity = i < 60 ? 0.05 : i / 100.0;
      boolean buyer = i % 10 != 0;
      Double clv = buyer ? (i < 50 ? 10.0 : i) : null; // one-time buyers of a day share a CLV
      rows.add(org.apache.spark.sql.RowFactory.create("u" + i, buyer ? 0.9 : null, null, null, null, null, null,
          null, clv, propensity, i < 30 ? 0.8 : 0.1, buyer));
    }
    List<Row> out = PredictStage.tiers(ctx.spark().createDataFrame(rows, schema), cfg)
        .select("user_id", "propensity_decile", "value_tier", "churn_risk_band").collectAsList();
    java.util.Map<Integer, Long> perDecile = out.stream().collect(java.util.stream.Collectors.groupingBy(
        r -> r.getInt(1), java.util.TreeMap::new, java.util.stream.Collectors.counting()));
    assertEquals(10, perDecile.size(), "ten deciles, tied scores spread over six of them: " + perDecile);
    perDecile.values().forEach(n -> assertEquals(10, n, 1, "a tenth each: " + perDecile));
    java.util.Map<String, Long> tiers = out.stream().collect(java.util.stream.Collectors.groupingBy(
        r -> r.getString(2), java.util.stream.Collectors.counting()));
    // 90 buyers: 9, 18, 27 and 36 of them by CLV, give or take the one at a cut (half the buyers
    // share the lowest CLV and are cut too), and the 10 who never bought.
    assertEquals(10L, tiers.get("No purchase yet"));
    assertEquals(9, tiers.get("Top 10%"), 1, tiers.toString());
    assertEquals(18, tiers.get("Next 20%"), 1, tiers.toString());
    assertEquals(27, tiers.get("Middle 30%"), 1, tiers.toString());
    assertEquals(36, tiers.get("Bottom 40%"), 1, tiers.toString());
    assertEquals(30, out.stream().filter(r -> r.getString(3).equals("High")).count());
    assertEquals(70, out.stream().filter(r -> r.getString(3).equals("Low")).count());
  }
}
