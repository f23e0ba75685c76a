package io.github.personas.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.io.OutputWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;

class PublishStageTest extends StageTestBase {

  @Test
  void theSummaryIsBuiltFromTheStagesResultsAndEveryTableIsPublished() throws Exception {
    Path out = dir.resolve("out");
    RunContext ctx = RunFixture.staged(RunFixture.config(data, out), locks);
    FeaturesStage features = new FeaturesStage(ctx);
    ValidateStage.Result v = new ValidateStage(ctx, caches).run(features.fold());
    FeaturesStage.Result f = features.run(v, caches);
    RunSummary s = new PublishStage(ctx, EnumSet.of(Stage.VALIDATE, Stage.FEATURES))
        .succeeded(new PublishStage.Results(v, f, null, null, null));
    assertEquals("succeeded", s.status());
    assertEquals(v.events().counts(), s.events());
    assertEquals(java.util.List.of("validate", "features"), java.util.List.copyOf(s.timingsSeconds().keySet()));
    assertEquals(java.util.List.of(OutputWriter.QUARANTINE, OutputWriter.FEATURES), java.util.List.copyOf(s.tableRows().keySet()));
    assertEquals(4, s.gates().size());
    assertTrue(s.warnings().stream().anyMatch(w -> w.contains("later than the run date")), s.warnings().toString());
    for (String table : java.util.List.of(OutputWriter.QUARANTINE, OutputWriter.FEATURES, OutputWriter.RUNS)) {
      assertTrue(Files.exists(out.resolve(table).resolve("dt=" + RunFixture.D).resolve("_SUCCESS")), table);
    }
    String json = Files.readString(out.resolve("runs/dt=" + RunFixture.D + "/summary.json"));
    assertTrue(json.contains("\"quarantine_share\"") && json.contains("\"quality_gates\"")
        && !json.contains("\"personas\" :"), json);
  }

  @Test
  void aStoppedRunPublishesOnlyTheEvidenceAndNamesTheGate() throws Exception {
    Path out = dir.resolve("out");
    RunContext ctx = RunFixture.staged(
        RunFixture.config(data, out, "personas.quality.min_accepted_events = 100000000"), locks);
    ValidateStage.Result v = new ValidateStage(ctx, caches).run(null);
    DataQualityException e = new PublishStage(ctx, EnumSet.allOf(Stage.class))
        .stopped(v.report().failedGate().orElseThrow(), new PublishStage.Results(v, null, null, null, null));
    assertEquals(QualityGates.MIN_ACCEPTED_EVENTS, e.gate());
    assertTrue(e.getMessage().endsWith("quarantined rows are in " + ctx.out().partition(OutputWriter.QUARANTINE)),
        e.getMessage());
    String json = Files.readString(out.resolve("runs/dt=" + RunFixture.D + "/summary.json"));
    assertTrue(json.contains("\"status\" : \"failed_quality_gate\""), json);
    assertTrue(Files.exists(out.resolve("quarantine/dt=" + RunFixture.D + "/_SUCCESS")));
    assertFalse(Files.exists(out.resolve("features")));
  }
}
