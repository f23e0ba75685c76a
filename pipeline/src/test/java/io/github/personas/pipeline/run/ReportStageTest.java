package io.github.personas.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.io.OutputWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReportStageTest extends StageTestBase {

  @Test
  void kpisTransitionsHistoryAndTheReportAreWrittenFromTheSegmentsResultOrFromTheOutput() throws Exception {
    RunContext ctx = staged();
    FeaturesStage features = new FeaturesStage(ctx);
    ValidateStage.Result v = new ValidateStage(ctx, caches).run(features.fold());
    SegmentStage.Result s = new SegmentStage(ctx).run(features.run(v, caches).features(), caches);

    ReportStage.Result r = new ReportStage(ctx).run(ReportStage.Input.of(s), v, caches);
    assertEquals(List.of(OutputWriter.SEGMENT_KPIS, OutputWriter.HOLDOUT_UPLIFT, OutputWriter.SEGMENT_TRANSITIONS,
        OutputWriter.SEGMENT_HISTORY), r.report().tables().stream().map(StageReport.TableWrite::table).toList());
    assertEquals(USERS, ((Number) r.kpis().get("users")).longValue());
    assertEquals(List.of("report.md", "report.html"), List.copyOf(r.report().files().keySet()));
    String md = Files.readString(Path.of(ctx.out().writePath(OutputWriter.RUNS), "report.md"));
    assertTrue(md.contains("duplicates"), "the data-quality table counts the repeated events: " + md);
    for (String persona : s.facts().names().values()) {
      assertTrue(md.contains(persona), persona + " has a card");
    }

    // The same report from the tables read back, as `personas report` reads them.
    ReportStage.Result back = new ReportStage(ctx).run(ReportStage.Input.readBack(ctx), null, caches);
    assertEquals(r.kpis().keySet(), back.kpis().keySet());
    r.kpis().forEach((k, value) -> {
      // Sums over rows read back in another order may differ in the last bit.
      if (value instanceof Double d) {
        assertEquals(d, (Double) back.kpis().get(k), Math.abs(d) * 1e-12, k);
      } else {
        assertEquals(value, back.kpis().get(k), k);
      }
    });
    assertEquals(r.report().tables(), back.report().tables());
  }
}
