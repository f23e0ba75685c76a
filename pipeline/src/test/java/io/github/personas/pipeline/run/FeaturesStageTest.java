package io.github.personas.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.io.OutputWriter;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

class FeaturesStageTest extends StageTestBase {

  @Test
  void featuresFromTheFoldInTheValidationPassEqualFeaturesFromTheAcceptedEvents() {
    RunContext ctx = staged();
    FeaturesStage stage = new FeaturesStage(ctx);
    FeaturesStage.Result folded = stage.run(new ValidateStage(ctx, caches).run(stage.fold()), caches);
    FeaturesStage.Result fromRows = stage.run(new ValidateStage(ctx, caches).run(null), caches);
    assertEquals(USERS, folded.users());
    Dataset<Row> a = io.github.personas.pipeline.testing.FeatureRows.setComparable(folded.features());
    Dataset<Row> b = io.github.personas.pipeline.testing.FeatureRows.setComparable(fromRows.features());
    assertEquals(0, a.exceptAll(b).count() + b.exceptAll(a).count(), "one pass or two, the same features");
    assertEquals(List.of(new StageReport.TableWrite(OutputWriter.FEATURES, USERS, ctx.out().partition(OutputWriter.FEATURES))),
        folded.report().tables());
    assertEquals(QualityGates.MIN_USERS, folded.report().gates().get(0).gate());
    assertEquals(USERS, stage.readBack().count(), "the staged table reads back");
    assertEquals(List.of(a.columns()), List.of(stage.empty().columns()), "the empty table has the same columns");
  }

  @Test
  void theFeaturesAsOfDMinusHFoldedInTheSamePassEqualFeaturesBuiltOnThatDateWithoutLaterEvents() {
    RunContext ctx = staged("personas.predict.propensity.horizon_days = 20");
    FeaturesStage stage = new FeaturesStage(ctx);
    FeaturesStage.Result r = stage.run(new ValidateStage(ctx, caches).run(stage.fold()), caches);
    java.time.LocalDate earlier = RunFixture.D.minusDays(20);
    assertEquals(earlier, r.backtest().date());
    ValidateStage.Result rows = new ValidateStage(ctx, caches).run(null);
    Dataset<Row> expected = new io.github.personas.pipeline.features.FeatureBuilder(earlier,
        ctx.config().timezone(), ctx.config().sessionWindows())
        .apply(rows.events().accepted(), rows.profiles().accepted(), caches)
        .where("first_seen < TIMESTAMP'" + earlier.plusDays(1) + " 00:00:00'");
    Dataset<Row> a = io.github.personas.pipeline.testing.FeatureRows.setComparable(r.backtest().features());
    Dataset<Row> b = io.github.personas.pipeline.testing.FeatureRows.setComparable(expected);
    assertTrue(b.count() > 0, "users were seen by " + earlier);
    assertEquals(0, a.exceptAll(b).count() + b.exceptAll(a).count(), "the earlier features as a run of that date");
    Dataset<Row> now = io.github.personas.pipeline.testing.FeatureRows.setComparable(r.features());
    assertTrue(a.exceptAll(now).count() > 0, "and not tonight's: the 20 days since changed users");
    Dataset<Row> plain = new io.github.personas.pipeline.features.FeatureBuilder(RunFixture.D,
        ctx.config().timezone(), ctx.config().sessionWindows()).empty(ctx.spark());
    assertEquals(List.of(plain.columns()), List.of(r.features().columns()), "tonight's features: nothing more");
  }

  @Test
  void tooFewUsersFailTheUsersGate() {
    RunContext ctx = staged("personas.quality.min_users = " + (USERS + 1));
    FeaturesStage stage = new FeaturesStage(ctx);
    FeaturesStage.Result r = stage.run(new ValidateStage(ctx, caches).run(stage.fold()), caches);
    assertTrue(r.report().failedGate().isPresent());
    assertEquals(USERS, r.users());
  }
}
