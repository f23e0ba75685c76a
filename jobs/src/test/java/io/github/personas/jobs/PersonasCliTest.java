package io.github.personas.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.jobs.CliTesting.Result;
import io.github.personas.pipeline.testing.Files;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PersonasCliTest {

  @TempDir
  static Path shared;

  private static String generated;

  private static Result cli(String... args) {
    return CliTesting.call(args);
  }

  @BeforeAll
  static void generateOnce() {
    SparkTestSession.get(); // the CLI reuses the shared test session instead of starting another
    generated = shared.resolve("gen").toString();
    Result r = cli("generate", "--users", "300", "--days", "30", "--end-date", "2024-03-10", "--seed", "7",
        "--out", generated);
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("Generated 300 users"), r.out());
  }

  private static List<List<Object>> duckdb(String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
         Statement s = c.createStatement();
         ResultSet rs = s.executeQuery(sql)) {
      List<List<Object>> rows = new ArrayList<>();
      int n = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        List<Object> row = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
          row.add(rs.getObject(i));
        }
        rows.add(row);
      }
      return rows;
    }
  }

  private static String table(String out, String name) {
    return "read_parquet('" + out + "/" + name + "/**/*.parquet', hive_partitioning = true)";
  }

  @Test
  void runWritesEveryTableForItsDateAndDuckDbReadsThemBack() throws Exception {
    String out = shared.resolve("out-run").toString();
    Result r = cli("run", "--events", generated + "/events", "--profiles", generated + "/profiles",
        "--date", "2024-03-10", "--output", out);
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("succeeded for 2024-03-10"), r.out());
    String[] lines = r.out().strip().split("\n");
    String reportHtml = out + "/runs/dt=2024-03-10/report.html";
    assertEquals("Report: " + reportHtml + " (report.md beside it)", lines[lines.length - 1],
        "the run ends with the report's path");
    assertTrue(java.nio.file.Files.isRegularFile(java.nio.file.Path.of(reportHtml)), reportHtml);

    for (String t : List.of("features", "segments", "personas", "segment_kpis", "quarantine", "k_selection",
        "holdout_uplift", "segment_transitions", "segment_history")) {
      List<List<Object>> dts = duckdb("SELECT DISTINCT CAST(dt AS VARCHAR) FROM " + table(out, t));
      if (!t.equals("quarantine")) {
        assertEquals(List.of(List.of("2024-03-10")), dts, t + " has the run date's partition");
      }
    }
    assertEquals(300L, duckdb("SELECT count(*) FROM " + table(out, "features")).get(0).get(0));
    assertTrue(TraitCheck.everyTraitNumberIsRecomputedFromTheTables(java.nio.file.Path.of(out), "2024-03-10") > 0);
    assertEquals(300L, duckdb("SELECT count(DISTINCT user_id) FROM " + table(out, "segments")
        + " WHERE rfm_segment IS NOT NULL AND lifecycle_stage IS NOT NULL AND persona_id IS NOT NULL"
        + " AND holdout IS NOT NULL").get(0).get(0));

    // Every dimension partitions the same users: users and revenue per dimension sum to the totals.
    double revenue = ((Number) duckdb("SELECT sum(monetary) FROM " + table(out, "features")).get(0).get(0)).doubleValue();
    List<List<Object>> sums = duckdb("SELECT dimension, sum(users), sum(revenue), sum(share) FROM "
        + table(out, "segment_kpis") + " GROUP BY dimension ORDER BY dimension");
    // The default dimensions: rfm_segment, lifecycle_stage and persona_id, and the predicted
    // value_tier and churn_risk_band where the predictions tell users apart (300 users are too few
    // for the propensity models: every churn_risk_band is "Unknown", and that dimension is left out).
    List<Object> dimensions = new ArrayList<>();
    for (String predicted : List.of("value_tier", "churn_risk_band")) {
      long values = ((Number) duckdb("SELECT count(DISTINCT " + predicted + ") FROM " + table(out, "predictions"))
          .get(0).get(0)).longValue();
      if (values > 1) {
        dimensions.add(predicted);
      }
    }
    assertTrue(dimensions.contains("value_tier"), "the buyers' CLV tiers: " + dimensions);
    dimensions.addAll(List.of("lifecycle_stage", "persona_id", "rfm_segment"));
    dimensions.sort(java.util.Comparator.comparing(Object::toString));
    assertEquals(dimensions, sums.stream().map(x -> x.get(0)).toList());
    for (List<Object> s : sums) {
      assertEquals(300L, ((Number) s.get(1)).longValue(), "users of " + s.get(0));
      assertEquals(revenue, ((Number) s.get(2)).doubleValue(), 1e-6, "revenue of " + s.get(0));
      assertEquals(1.0, ((Number) s.get(3)).doubleValue(), 1e-9, "share of " + s.get(0));
    }
    List<List<Object>> personas = duckdb("SELECT sum(users), count(*), count(DISTINCT persona_name),"
        + " count(*) FILTER (WHERE kind = 'clustered') FROM " + table(out, "personas"));
    assertEquals(300L, ((Number) personas.get(0).get(0)).longValue());
    long k = ((Number) duckdb("SELECT k FROM " + table(out, "k_selection") + " WHERE chosen").get(0).get(0)).longValue();
    long count = ((Number) personas.get(0).get(1)).longValue();
    long clustered = ((Number) personas.get(0).get(3)).longValue();
    assertTrue(k >= 3 && k <= 12 && clustered >= 1 && clustered <= k, "k = " + k + ", clustered personas = " + clustered);
    assertTrue(count - clustered <= 2, "at most the two default rule personas besides: " + count);
    assertEquals(count, ((Number) personas.get(0).get(2)).longValue(), "persona names are unique");
    assertEquals(0L, duckdb("SELECT count(*) FROM " + table(out, "segments") + " s LEFT JOIN " + table(out, "personas")
        + " p USING (persona_id) WHERE p.persona_name IS DISTINCT FROM s.persona_name").get(0).get(0),
        "every user's persona name is the persona's");

    String summary = java.nio.file.Files.readString(Path.of(out, "runs", "dt=2024-03-10", "summary.json"));
    assertTrue(summary.contains("\"reconciles\" : true"), summary);
    assertTrue(summary.contains("\"k\" : " + k) && summary.contains("\"silhouette\"")
        && summary.contains("\"reason\""), summary);
    assertTrue(java.nio.file.Files.exists(Path.of(out, "segments", "dt=2024-03-10", "_SUCCESS")));
  }

  @Test
  void stageCommandsOneByOneGiveTheSameTablesAsRun() throws Exception {
    String out = shared.resolve("out-stages").toString();
    String conf = CliTesting.fewKConfig(shared).toString();
    String[] common = {"--config", conf, "--events", generated + "/events", "--profiles", generated + "/profiles",
        "--date", "2024-03-10", "--output", out};
    for (String command : List.of("validate", "features", "predict", "segment", "report")) {
      String[] args = new String[common.length + 1];
      args[0] = command;
      System.arraycopy(common, 0, args, 1, common.length);
      Result r = cli(args);
      assertEquals(0, r.code(), command + ": " + r.err());
    }
    String runOut = shared.resolve("out-run-compare").toString();
    assertEquals(0, cli("run", "--config", conf, "--events", generated + "/events", "--profiles",
        generated + "/profiles", "--date", "2024-03-10", "--output", runOut).code());
    String diff = "SELECT count(*) FROM (SELECT user_id, rfm_segment, lifecycle_stage, persona_id, holdout FROM %s"
        + " EXCEPT SELECT user_id, rfm_segment, lifecycle_stage, persona_id, holdout FROM %s)";
    assertEquals(0L, duckdb(String.format(diff, table(out, "segments"), table(runOut, "segments"))).get(0).get(0));
    assertEquals(duckdb("SELECT count(*) FROM " + table(runOut, "segment_kpis")),
        duckdb("SELECT count(*) FROM " + table(out, "segment_kpis")));
  }

  @Test
  void twoConsecutiveDaysKeepPersonaIdsAndNames() throws Exception {
    String out = shared.resolve("out-two-days").toString();
    // One folder holds every day: for the first run the last day (3 %) and the late events (1 %)
    // are later than the run date, near the default limit of 5 %, as in a backfill.
    String lenient = java.nio.file.Files.writeString(shared.resolve("two-days.conf"),
        "personas.quality.max_future_share = 0.2\n").toString();
    for (String date : List.of("2024-03-09", "2024-03-10")) {
      Result r = cli("run", "--config", lenient, "--events", generated + "/events", "--profiles",
          generated + "/profiles", "--date", date, "--output", out);
      assertEquals(0, r.code(), date + ": " + r.err());
    }
    String personas = table(out, "personas");
    List<List<Object>> day1 = duckdb("SELECT persona_id, persona_name FROM " + personas
        + " WHERE dt = '2024-03-09' ORDER BY 1");
    List<List<Object>> day2 = duckdb("SELECT persona_id, persona_name FROM " + personas
        + " WHERE dt = '2024-03-10' ORDER BY 1");
    assertEquals(day1, day2, "the same ids and names on both days");
    assertEquals(0L, duckdb("SELECT count(*) FROM " + personas + " WHERE dt = '2024-03-10'"
        + " AND previous_persona_id IS DISTINCT FROM persona_id").get(0).get(0), "every persona matched yesterday's");
    List<List<Object>> kept = duckdb("SELECT avg(CASE WHEN a.persona_id = b.persona_id THEN 1.0 ELSE 0 END) FROM "
        + table(out, "segments") + " a JOIN " + table(out, "segments") + " b USING (user_id)"
        + " WHERE a.dt = '2024-03-09' AND b.dt = '2024-03-10'");
    double share = ((Number) kept.get(0).get(0)).doubleValue();
    assertTrue(share > 0.9, "users keeping their persona from one day to the next: " + share);

    // Transitions: per dimension, row sums are yesterday's segment sizes, column sums today's.
    String transitions = table(out, "segment_transitions") + " WHERE dt = '2024-03-10'";
    for (String dim : List.of("rfm_segment", "lifecycle_stage", "persona_id")) {
      for (String[] side : new String[][] {{"from_segment", "2024-03-09", "(new)"}, {"to_segment", "2024-03-10", "(gone)"}}) {
        List<List<Object>> moved = duckdb("SELECT " + side[0] + ", sum(users) FROM " + transitions
            + " AND dimension = '" + dim + "' AND " + side[0] + " <> '" + side[2] + "' GROUP BY 1 ORDER BY 1");
        List<List<Object>> sizes = duckdb("SELECT coalesce(CAST(" + dim + " AS VARCHAR), '(none)'), count(*) FROM "
            + table(out, "segments") + " WHERE dt = '" + side[1] + "' GROUP BY 1 ORDER BY 1");
        assertEquals(sizes.toString(), moved.toString(), dim + " " + side[0]);
      }
    }
    assertEquals(2L, duckdb("SELECT count(DISTINCT run_date) FROM " + table(out, "segment_history")
        + " WHERE dt = '2024-03-10'").get(0).get(0), "history holds both runs");

    // The report's transitions name the personas as their cards do, not by id alone.
    String md = java.nio.file.Files.readString(java.nio.file.Path.of(out, "runs", "dt=2024-03-10", "report.md"));
    String moves = md.substring(md.indexOf("## Persona transitions"), md.indexOf("## Choosing k"));
    for (List<Object> p : day2) {
      assertTrue(moves.contains("| " + p.get(0) + " " + p.get(1) + " |"), p + " named in the transitions: " + moves);
    }
  }

  @Test
  void evaluateReportsTheAdjustedRandIndexAgainstTheTruthAndGatesOnIt() throws Exception {
    String out = shared.resolve("out-evaluate").toString();
    assertEquals(0, cli("run", "--config", CliTesting.fewKConfig(shared).toString(), "--events",
        generated + "/events", "--profiles", generated + "/profiles", "--date", "2024-03-10", "--output", out).code());
    Result r = cli("evaluate", "--truth", generated + "/truth", "--date", "2024-03-10", "--output", out);
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("ARI persona_id") && r.out().contains("300 in both"), r.out());
    String json = java.nio.file.Files.readString(Path.of(out, "runs", "dt=2024-03-10", "evaluation.json"));
    assertTrue(json.contains("\"adjusted_rand_index\""), json);
    Result gated = cli("evaluate", "--truth", generated + "/truth", "--date", "2024-03-10", "--output", out,
        "--min-ari", "1.01");
    assertEquals(3, gated.code(), gated.out());
    assertTrue(gated.err().contains("below --min-ari"), gated.err());
    Result missing = cli("evaluate", "--truth", generated + "/truth", "--date", "2024-01-01", "--output", out);
    assertEquals(2, missing.code());
    assertTrue(missing.err().contains("No segments for 2024-01-01"), missing.err());
  }

  @Test
  void helpTeachesCommandsExamplesAndExitCodes() {
    Result r = cli("--help");
    assertEquals(0, r.code());
    for (String s : List.of("run", "validate", "features", "segment", "report", "generate", "Exit codes",
        "data-quality gate", "Examples")) {
      assertTrue(r.out().contains(s), "help mentions " + s + ":\n" + r.out());
    }
    Result run = cli("run", "--help");
    assertEquals(0, run.code());
    assertTrue(run.out().contains("--date") && run.out().contains("Examples"), run.out());
  }

  @Test
  void malformedDateIsAUsageError() {
    Result r = cli("run", "--date", "2024-13-01");
    assertEquals(2, r.code());
    assertTrue(r.err().contains("YYYY-MM-DD"), r.err());
  }

  @Test
  void missingDateIsAUsageError() {
    Result r = cli("run");
    assertEquals(2, r.code());
    assertTrue(r.err().contains("--date"), r.err());
  }

  @Test
  void unknownConfigKeyIsAUsageErrorNamingTheKey() {
    Path conf = Files.write(shared, "typo.conf", "personas.personas.kay = 3");
    Result r = cli("run", "--config", conf.toString(), "--date", "2024-03-10");
    assertEquals(2, r.code());
    assertTrue(r.err().contains("personas.personas.kay"), r.err());
  }

  @Test
  void anRfmTableWithAGapFailsAtStartWithExitTwoNamingTheCell() {
    Path conf = Files.write(shared, "gap.conf", "personas.rfm.segments = [ { name = Recent, when = \"r_score >= 2\" } ]");
    String out = shared.resolve("out-gap").toString();
    Result r = cli("run", "--config", conf.toString(), "--date", "2024-03-10", "--events", generated + "/events",
        "--output", out);
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains("personas.rfm.segments") && r.err().contains("r_score=1, f_score=1, m_score=1"),
        r.err());
    assertTrue(!java.nio.file.Files.exists(Path.of(out, "quarantine")), "fails before any input is read");
  }

  @Test
  void missingInputPathIsAUsageErrorNamingPathAndKey() {
    Result r = cli("validate", "--events", shared.resolve("absent").toString(), "--date", "2024-03-10",
        "--output", shared.resolve("out-absent").toString());
    assertEquals(2, r.code());
    assertTrue(r.err().contains("absent") && r.err().contains("personas.input.events.path"), r.err());
  }

  /**
   * Runs {@code command} for 2024-03-10 on one CSV of events, without profiles, with one more
   * config line (a gate's limit), into {@code <shared>/out-<name>}.
   */
  private static Result csvRun(String command, Path events, String name, String configLine) throws Exception {
    Path conf = Files.write(shared, name + ".conf", "personas.input.events.format = csv",
        "personas.input.profiles.path = \"\"", configLine);
    return cli(command, "--config", conf.toString(), "--events", events.toString(), "--date", "2024-03-10",
        "--output", shared.resolve("out-" + name).toString());
  }

  /** runs/dt=2024-03-10/summary.json of {@code <shared>/out-<name>}. */
  private static String summary(String name) throws Exception {
    return java.nio.file.Files.readString(shared.resolve("out-" + name).resolve("runs/dt=2024-03-10/summary.json"));
  }

  @Test
  void failedQualityGateExitsWithThreeAndNamesTheGate() throws Exception {
    Path events = Files.write(shared, "bad/events.csv", "user_id,event_time,event_name",
        "u1,2024-03-09 10:00:00,session_start", ",2024-03-09 10:00:00,session_start", "u2,never,session_start");
    Result r = csvRun("run", events, "gate", "personas.quality.max_quarantine_share = 0.5");
    String out = shared.resolve("out-gate").toString();
    assertEquals(3, r.code(), r.err());
    assertTrue(r.err().contains("personas.quality.max_quarantine_share") && r.err().contains("66.67%"), r.err());
    assertTrue(!java.nio.file.Files.exists(Path.of(out, "features")), "nothing past the failing stage is written");
    assertEquals(2L, duckdb("SELECT count(*) FROM " + table(out, "quarantine")).get(0).get(0));
    assertTrue(summary("gate").contains("failed_quality_gate"), summary("gate"));
  }

  @Test
  void inputWithNoAcceptedEventFailsTheGateWithExitThree() throws Exception {
    // Corpus case "empty accepted input": a header and one row that breaks the contract.
    Path events = Files.write(shared, "none/events.csv", "user_id,event_time,event_name", ",2024-03-09 10:00:00,x");
    Result r = csvRun("run", events, "none", "personas.quality.max_quarantine_share = 1.0");
    assertEquals(3, r.code(), r.err());
    assertTrue(r.err().contains("personas.quality.min_accepted_events failed: 0 events accepted of 1 read"), r.err());
    String summary = summary("none");
    assertTrue(summary.contains("\"gate\" : \"personas.quality.min_accepted_events\"")
        && summary.contains("\"status\" : \"failed\""), summary);
  }

  @Test
  void manyEventsAfterTheRunDateFailTheFutureGateAndAFewAreANearMiss() throws Exception {
    Path events = Files.write(shared, "future/events.csv", "user_id,event_time,event_name",
        "u1,2024-03-09 10:00:00,session_start", "u2,2024-03-09 11:00:00,session_start",
        "u3,2024-03-09 12:00:00,session_start", "u4,2031-01-01 00:00:00,session_start");
    Result r = csvRun("validate", events, "future", "personas.quality.max_future_share = 0.2");
    assertEquals(3, r.code(), r.err());
    assertTrue(r.err().contains("personas.quality.max_future_share failed: 25.00%")
        && r.err().contains("limit 20.00%"), r.err());

    Result near = csvRun("validate", events, "future-lenient", "personas.quality.max_future_share = 0.3");
    assertEquals(0, near.code(), near.err());
    assertTrue(summary("future-lenient").contains("personas.quality.max_future_share nearly failed: 25.00%"),
        summary("future-lenient"));
  }
}
