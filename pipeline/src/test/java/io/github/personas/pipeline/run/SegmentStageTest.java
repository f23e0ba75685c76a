package io.github.personas.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.io.OutputWriter;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class SegmentStageTest extends StageTestBase {

  @Test
  void usersGetSegmentsAndPersonasAndTheModelIsSaved() throws Exception {
    RunContext ctx = staged();
    FeaturesStage features = new FeaturesStage(ctx);
    FeaturesStage.Result f = features.run(new ValidateStage(ctx, caches).run(features.fold()), caches);
    SegmentStage.Result r = new SegmentStage(ctx).run(f.features(), caches);

    assertEquals(SegmentStage.SEGMENT_COLUMNS, List.of(r.segments().columns()));
    assertEquals(USERS, r.segments().count());
    assertEquals(List.of(OutputWriter.SEGMENTS, OutputWriter.PERSONAS, OutputWriter.K_SELECTION),
        r.report().tables().stream().map(StageReport.TableWrite::table).toList());
    assertEquals(r.facts().names().size(), r.personas().size());
    assertTrue(r.facts().k() >= 3 && r.facts().k() <= 4, r.facts().reason());
    assertEquals(2, r.kSelection().size(), "k = 3 and 4 tried");
    assertEquals(4, r.rfmCutPoints().frequency().length);
    // The report's rows: the segment columns, then every feature not among them.
    assertEquals(SegmentStage.SEGMENT_COLUMNS, List.of(r.users().columns()).subList(0, SegmentStage.SEGMENT_COLUMNS.size()));
    assertEquals(SegmentStage.SEGMENT_COLUMNS.size() + f.features().columns().length - 1, r.users().columns().length);
    // The model: the ML pipeline that prepares the inputs, and the MLlib centres.
    String model = ctx.out().writePath(OutputWriter.MODELS) + "/persona_model";
    assertTrue(Files.isDirectory(Path.of(model, "prep")) && Files.isDirectory(Path.of(model, "kmeans")), model);
    // Standardisation (Spark SQL with tonight's moments) and the assembler load as public MLlib stages.
    org.apache.spark.ml.Transformer[] prep = org.apache.spark.ml.PipelineModel.load(model + "/prep").stages();
    assertTrue(prep[0] instanceof org.apache.spark.ml.feature.SQLTransformer
        && prep[1] instanceof org.apache.spark.ml.feature.VectorAssembler, java.util.Arrays.toString(prep));
    assertEquals(r.kSelection().stream().filter(k -> k.<Boolean>getAs("chosen")).findFirst().orElseThrow()
        .<Integer>getAs("k"), org.apache.spark.mllib.clustering.KMeansModel.load(SparkTestSession.get().sparkContext(),
        model + "/kmeans").k());
    assertEquals(ctx.out().partition(OutputWriter.MODELS) + "/persona_model", r.report().files().get("persona_model"));
  }

  @Test
  void aRuleThatDoesNotParseFailsBeforeAnythingIsRead() {
    RunContext ctx = staged("personas.lifecycle.stages = [{ name = \"Broken\", when = \"no_such_column > 1\" }]");
    SegmentStage stage = new SegmentStage(ctx);
    ConfigException e = assertThrows(ConfigException.class, () -> stage.checkRules(new FeaturesStage(ctx).empty()));
    assertTrue(e.getMessage().contains("no_such_column"), e.getMessage());
  }
}
