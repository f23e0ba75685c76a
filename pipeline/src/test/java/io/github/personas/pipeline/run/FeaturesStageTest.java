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
  void tooFewUsersFailTheUsersGate() {
    RunContext ctx = staged("personas.quality.min_users = " + (USERS + 1));
    FeaturesStage stage = new FeaturesStage(ctx);
    FeaturesStage.Result r = stage.run(new ValidateStage(ctx, caches).run(stage.fold()), caches);
    assertTrue(r.report().failedGate().isPresent());
    assertEquals(USERS, r.users());
  }
}
