package io.github.personas.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    assertEquals(OutputWriter.PREDICTIONS, r.report().tables().get(0).table());
  }
}
