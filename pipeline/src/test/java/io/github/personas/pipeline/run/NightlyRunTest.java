package io.github.personas.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.testing.SparkTestSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/** The composition of the stages: what a run publishes, what it leaves cached (nothing), and where it stops. */
class NightlyRunTest extends StageTestBase {

  private final SparkSession spark = SparkTestSession.get();

  /** The ids of the RDDs the session holds cached. */
  private Set<Object> cached() {
    return Set.copyOf(scala.jdk.javaapi.CollectionConverters.asJava(spark.sparkContext().getPersistentRDDs()).keySet());
  }

  @Test
  void aRunPublishesEveryTableAndReleasesEverythingItCached() throws Exception {
    Set<Object> before = cached();
    Path out = dir.resolve("out");
    RunSummary s = new NightlyRun(spark, RunFixture.config(data, out), RunFixture.D).execute(EnumSet.allOf(Stage.class));
    assertEquals(before, cached(), "nothing the run cached is left cached");
    assertEquals("succeeded", s.status());
    assertEquals(List.of("validate", "features", "predict", "segment", "report"),
        List.copyOf(s.timingsSeconds().keySet()));
    assertEquals(USERS, s.tableRows().get("features"));
    assertTrue(s.events().duplicates() > 0 && s.events().reconciles(), s.events().toString());
    for (String table : s.tableRows().keySet()) {
      assertTrue(Files.exists(out.resolve(table).resolve("dt=" + RunFixture.D).resolve("_SUCCESS")), table);
    }
    String json = Files.readString(out.resolve("runs/dt=" + RunFixture.D + "/summary.json"));
    for (String key : List.of("spark", "quarantine_share", "quality_gates", "rfm_cut_points", "personas", "kpis")) {
      assertTrue(json.contains("\"" + key + "\" :"), key + " in " + json);
    }
    assertFalse(Files.exists(out.resolve("_staging").resolve("dt=" + RunFixture.D)), "staging is gone");
  }

  @Test
  void lifecycleRulesReadTheRunsPredictions() {
    Path out = dir.resolve("out-lifecycle");
    new NightlyRun(spark, RunFixture.config(data, out, """
        personas.lifecycle.otherwise = "Unlikely"
        personas.lifecycle.stages = [
          { name = "Never bought", when = "p_alive IS NULL" }
          { name = "Likely back",  when = "p_alive >= 0.9 AND expected_purchases_30d >= 1" }
          { name = "Alive",        when = "p_alive >= 0.5" }
        ]"""), RunFixture.D).execute(EnumSet.allOf(Stage.class));
    Dataset<Row> segments = spark.read().parquet(out.resolve("segments/dt=" + RunFixture.D).toString());
    Dataset<Row> predictions = spark.read().parquet(out.resolve("predictions/dt=" + RunFixture.D).toString());
    Dataset<Row> joined = segments.join(predictions, "user_id");
    assertEquals(USERS, joined.count(), "every user has a prediction row");
    // The rules above, evaluated on the published predictions: the stages must agree for every user.
    long disagree = joined.where("""
        lifecycle_stage <> CASE WHEN p_alive IS NULL THEN 'Never bought'
          WHEN p_alive >= 0.9 AND expected_purchases_30d >= 1 THEN 'Likely back'
          WHEN p_alive >= 0.5 THEN 'Alive' ELSE 'Unlikely' END""").count();
    assertEquals(0L, disagree, "users whose stage does not follow from their published scores");
    assertTrue(joined.where("lifecycle_stage = 'Never bought'").count() > 0
        && joined.where("lifecycle_stage <> 'Never bought'").count() > 0, "both buyers and non-buyers");
  }

  @Test
  void aSegmentRunWithoutPublishedPredictionsRefusesRulesThatReadThemAndAPredictRunNeedsTheStageOn() {
    Path out = dir.resolve("out-no-predictions");
    String rules = "personas.lifecycle.stages = [ { name = \"Likely lost\", when = \"p_alive < 0.2\" } ]";
    new NightlyRun(spark, RunFixture.config(data, out, rules), RunFixture.D)
        .execute(EnumSet.of(Stage.VALIDATE, Stage.FEATURES));
    // No predictions for the date: the rule names its column instead of matching nobody on nulls.
    io.github.personas.pipeline.config.ConfigException e = assertThrows(
        io.github.personas.pipeline.config.ConfigException.class, () -> new NightlyRun(spark,
            RunFixture.config(data, out, rules), RunFixture.D).execute(EnumSet.of(Stage.SEGMENT)));
    assertTrue(e.getMessage().contains("p_alive") && e.getMessage().contains("Likely lost"), e.getMessage());
    e = assertThrows(io.github.personas.pipeline.config.ConfigException.class, () -> new NightlyRun(spark,
        RunFixture.config(data, out, "personas.predict.enabled = false"), RunFixture.D).execute(EnumSet.of(Stage.PREDICT)));
    assertTrue(e.getMessage().contains("personas.predict.enabled"), e.getMessage());
  }

  /** The tables with a partition for the test date under {@code out}. */
  private static List<String> tablesOfTheDate(Path out) throws Exception {
    try (var tables = Files.list(out)) {
      return tables.filter(t -> Files.isDirectory(t.resolve("dt=" + RunFixture.D)))
          .map(t -> t.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void aRerunReplacesTheDateAsAWholeAndAFailedOneLeavesOnlyItsEvidence() throws Exception {
    Path out = dir.resolve("out");
    new NightlyRun(spark, RunFixture.config(data, out), RunFixture.D).execute(EnumSet.allOf(Stage.class));
    assertEquals(List.of("features", "holdout_uplift", "k_selection", "models", "personas", "predictions", "quarantine",
        "runs", "segment_history", "segment_kpis", "segment_transitions", "segments"), tablesOfTheDate(out));

    // Segmenting again: the KPIs computed from the earlier segments no longer describe the date's segments
    // and are withdrawn; predictions, an earlier stage's that the segments read, stay.
    new NightlyRun(spark, RunFixture.config(data, out), RunFixture.D).execute(EnumSet.of(Stage.SEGMENT));
    assertEquals(List.of("features", "k_selection", "models", "personas", "predictions", "quarantine", "runs",
        "segments"), tablesOfTheDate(out),
        "the segment run's tables, on the inputs it read (features, predictions, quarantine) and nothing else");

    // Predicting again: the segments read the predictions, so they and the KPIs are withdrawn with them.
    new NightlyRun(spark, RunFixture.config(data, out), RunFixture.D).execute(EnumSet.of(Stage.PREDICT));
    assertEquals(List.of("features", "predictions", "quarantine", "runs"), tablesOfTheDate(out),
        "the predict run's tables, on the inputs it read (features, quarantine) and nothing else");

    // A full rerun that a gate stops: the date holds its evidence alone, not the earlier run's tables beside it.
    assertThrows(DataQualityException.class, () -> new NightlyRun(spark,
        RunFixture.config(data, out, "personas.quality.min_accepted_events = 100000000"), RunFixture.D)
        .execute(EnumSet.allOf(Stage.class)));
    assertEquals(List.of("quarantine", "runs"), tablesOfTheDate(out));
    assertTrue(Files.readString(out.resolve("runs/dt=" + RunFixture.D + "/summary.json"))
        .contains("\"status\" : \"failed_quality_gate\""));
    assertFalse(Files.exists(out.resolve("runs/dt=" + RunFixture.D + "/report.html")), "no report of an earlier run");
    for (String left : List.of("_staging", "_trash", "_locks")) {
      try (var files = Files.list(out.resolve(left))) {
        assertEquals(List.of(), files.toList(), left + " is empty after the runs");
      }
    }
  }

  @Test
  void aGateStopsTheRunAfterItsStagePublishingOnlyTheEvidence() {
    Set<Object> before = cached();
    Path out = dir.resolve("out");
    DataQualityException e = assertThrows(DataQualityException.class, () -> new NightlyRun(spark,
        RunFixture.config(data, out, "personas.quality.min_users = 1000"), RunFixture.D).execute(EnumSet.allOf(Stage.class)));
    assertEquals(QualityGates.MIN_USERS, e.gate());
    assertEquals(before, cached());
    assertTrue(Files.exists(out.resolve("quarantine/dt=" + RunFixture.D + "/_SUCCESS")));
    assertTrue(Files.exists(out.resolve("runs/dt=" + RunFixture.D + "/summary.json")));
    assertFalse(Files.exists(out.resolve("features")), "the features are not published");
    assertFalse(Files.exists(out.resolve("segments")), "no stage after the gate ran");
  }

  @Test
  void aStageThatFailsLeavesNothingCachedAndNothingPublished() {
    Set<Object> before = cached();
    Path out = dir.resolve("out");
    // The rule resolves, so the check before reading passes; it fails on the first row (ANSI cast).
    RuntimeException e = assertThrows(RuntimeException.class, () -> new NightlyRun(spark, RunFixture.config(data, out,
        "personas.lifecycle.stages = [{ name = \"Broken\", when = \"CAST('x' || user_id AS INT) > 0\" }]"),
        RunFixture.D).execute(EnumSet.allOf(Stage.class)));
    assertTrue(String.valueOf(e.getMessage()).contains("CAST_INVALID_INPUT"), String.valueOf(e.getMessage()));
    assertEquals(before, cached(), "the features cached before the failure are released");
    assertFalse(Files.exists(out.resolve("features")));
    assertFalse(Files.exists(out.resolve("runs")));
  }
}
