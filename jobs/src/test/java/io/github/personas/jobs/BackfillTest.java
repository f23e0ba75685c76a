package io.github.personas.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.jobs.CliTesting.Result;
import io.github.personas.pipeline.testing.Files;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Backfills: {@code --from D1 --to D2} runs the dates in order in one session and stops at the
 * first that fails; {@code ${date}} in an input path reads each date's own folder.
 */
class BackfillTest {

  @TempDir
  static Path dir;

  private static final String HEADER = "user_id,event_time,event_name,order_id,revenue";

  @BeforeAll
  static void session() {
    SparkTestSession.get();
  }

  /** A CSV-events configuration without profiles. */
  private static String csvConfig(String name, String... lines) {
    String[] all = new String[lines.length + 2];
    all[0] = "personas.input.events.format = csv";
    all[1] = "personas.input.profiles.path = \"\"";
    System.arraycopy(lines, 0, all, 2, lines.length);
    return Files.write(dir, name + ".conf", all).toString();
  }

  /** One day's events file under {@code <dir>/<folder>/dt=<day>/}: {@code users} sessions that day. */
  private static void day(String folder, String day, int users) {
    String[] rows = new String[users + 1];
    rows[0] = HEADER;
    for (int i = 0; i < users; i++) {
      rows[i + 1] = "u" + i + "," + day + " 10:00:00,session_start,,";
    }
    Files.write(dir, folder + "/dt=" + day + "/events.csv", rows);
  }

  private static String summary(Path out, String day) throws Exception {
    return java.nio.file.Files.readString(out.resolve("runs/dt=" + day + "/summary.json"));
  }

  @Test
  void aDateAndARangeAreMutuallyExclusiveAndARangeNeedsBothEndsInOrder() {
    Result both = CliTesting.call("run", "--date", "2024-03-10", "--from", "2024-03-08", "--to", "2024-03-10");
    assertEquals(2, both.code(), both.err());
    assertTrue(both.err().contains("mutually exclusive"), both.err());
    Result half = CliTesting.call("run", "--from", "2024-03-08");
    assertEquals(2, half.code(), half.err());
    assertTrue(half.err().contains("--to"), half.err());
    Result reversed = CliTesting.call("validate", "--from", "2024-03-10", "--to", "2024-03-08");
    assertEquals(2, reversed.code(), reversed.err());
    assertTrue(reversed.err().contains("--from 2024-03-10 is after --to 2024-03-08"), reversed.err());
    Result none = CliTesting.call("features");
    assertEquals(2, none.code(), none.err());
    assertTrue(none.err().contains("--date") && none.err().contains("--from"), none.err());
  }

  @Test
  void aDatePlaceholderInEventsReadsEachDatesOwnFolderInTheSummaryAsRead() throws Exception {
    day("daily", "2024-03-08", 2);
    day("daily", "2024-03-09", 3);
    day("daily", "2024-03-10", 4);
    Path out = dir.resolve("out-daily");
    String events = dir.resolve("daily") + "/dt=${date}";
    Result r = CliTesting.call("validate", "--config", csvConfig("daily"), "--events", events,
        "--from", "2024-03-08", "--to", "2024-03-10", "--output", out.toString());
    assertEquals(0, r.code(), r.out() + r.err());
    int rows = 2;
    for (String d : List.of("2024-03-08", "2024-03-09", "2024-03-10")) {
      String s = summary(out, d);
      assertTrue(s.contains("\"events\" : \"" + dir.resolve("daily") + "/dt=" + d + "\""), "the path read: " + s);
      assertTrue(s.contains("\"read\" : " + rows++), "only the date's own folder: " + s);
    }
    assertTrue(r.out().contains("personas validate: backfill 2024-03-08..2024-03-10 succeeded, 3 dates"), r.out());
    for (String d : List.of("2024-03-08", "2024-03-09", "2024-03-10")) {
      assertTrue(r.out().lines().anyMatch(l -> l.startsWith("  " + d + "  succeeded")), d + " status: " + r.out());
    }
  }

  @Test
  void aBackfillStopsAtTheFirstFailingDateWithItsExitCodeAndListsTheDatesNotRun() throws Exception {
    day("gap", "2024-03-08", 2);
    day("gap", "2024-03-10", 2);
    Files.write(dir, "gap/dt=2024-03-09/events.csv", HEADER, ",2024-03-09 10:00:00,session_start,,"); // all bad
    Path out = dir.resolve("out-gap");
    String events = dir.resolve("gap") + "/dt=${date}";
    Result gate = CliTesting.call("validate", "--config", csvConfig("gap"), "--events", events,
        "--from", "2024-03-08", "--to", "2024-03-10", "--output", out.toString());
    assertEquals(3, gate.code(), "the failing date's exit code, a data-quality gate: " + gate.out() + gate.err());
    assertTrue(gate.err().contains("personas.quality.max_quarantine_share"), gate.err());
    assertTrue(gate.out().contains("backfill 2024-03-08..2024-03-10 stopped at 2024-03-09"), gate.out());
    assertTrue(gate.out().contains("  2024-03-08  succeeded"), gate.out());
    assertTrue(gate.out().contains("  2024-03-09  failed"), gate.out());
    assertTrue(gate.out().contains("  2024-03-10  not run"), gate.out());
    assertTrue(gate.out().contains("resume with --from 2024-03-09 --to 2024-03-10"), gate.out());
    assertTrue(summary(out, "2024-03-09").contains("failed_quality_gate"), "the failed date keeps its evidence");
    assertFalse(java.nio.file.Files.exists(out.resolve("runs/dt=2024-03-10")), "the date after is not run");

    // A missing day is a usage error (exit 2); an unquoted ${date} that a shell emptied gets a hint.
    java.nio.file.Files.delete(dir.resolve("gap/dt=2024-03-09/events.csv"));
    java.nio.file.Files.delete(dir.resolve("gap/dt=2024-03-09"));
    Result missing = CliTesting.call("validate", "--config", csvConfig("gap"), "--events", events,
        "--from", "2024-03-08", "--to", "2024-03-10", "--output", dir.resolve("out-missing").toString());
    assertEquals(2, missing.code(), missing.out() + missing.err());
    assertTrue(missing.err().contains("dt=2024-03-09 does not exist"), missing.err());
    assertTrue(missing.out().contains("  2024-03-10  not run"), missing.out());
    Result emptied = CliTesting.call("validate", "--config", csvConfig("gap"), "--events", dir.resolve("gap") + "/dt=",
        "--date", "2024-03-08", "--output", dir.resolve("out-emptied").toString());
    assertEquals(2, emptied.code(), emptied.err());
    assertTrue(emptied.err().contains("single quotes"), emptied.err());
  }

  @Test
  void anUnknownPlaceholderOnTheCommandLineIsAUsageErrorNamingTheOption() {
    Result r = CliTesting.call("validate", "--events", "/data/events/dt=${ds}", "--date", "2024-03-10");
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains("--events") && r.err().contains("${ds}") && r.err().contains("${date}"), r.err());
  }

  @Test
  void runHelpTeachesTheBackfillAndTheDatePlaceholder() {
    Result r = CliTesting.call("run", "--help");
    assertEquals(0, r.code());
    for (String s : List.of("--from", "--to", "--date", "backfill", "'/data/events/dt=${date}'", "Examples")) {
      assertTrue(r.out().contains(s), "run --help mentions " + s + ":\n" + r.out());
    }
  }

  @Test
  void aFolderThatSaysItHoldsLaterDaysSkipsAndCountsThemInsteadOfTrippingTheFutureGate() throws Exception {
    // One file of every day, read for its first date: three of four rows are later days.
    Path events = Files.write(dir, "every-day/events.csv", HEADER, "u1,2024-03-08 10:00:00,session_start,,",
        "u1,2024-03-09 10:00:00,session_start,,", "u2,2024-03-10 10:00:00,session_start,,",
        "u3,2024-03-10 11:00:00,session_start,,");
    Result tripped = CliTesting.call("validate", "--config", csvConfig("every-day-strict"), "--events",
        events.toString(), "--date", "2024-03-08", "--output", dir.resolve("out-strict").toString());
    assertEquals(3, tripped.code(), tripped.out() + tripped.err());
    assertTrue(tripped.err().contains("personas.quality.max_future_share failed: 75.00%")
        && tripped.err().contains("holds_later_days = true"), "the message says what to set: " + tripped.err());

    Path out = dir.resolve("out-every-day");
    Result r = CliTesting.call("validate", "--config", csvConfig("every-day", "personas.input.events.holds_later_days = true"),
        "--events", events.toString(), "--date", "2024-03-08", "--output", out.toString());
    assertEquals(0, r.code(), r.out() + r.err());
    assertTrue(r.out().contains("read 4 = accepted 1 + quarantined 0 + duplicates 0 + filtered 0 + later days 3"),
        r.out());
    String s = summary(out, "2024-03-08");
    assertTrue(s.contains("\"later_days\" : 3") && s.contains("\"reconciles\" : true"), s);
    com.fasterxml.jackson.databind.JsonNode gates = new com.fasterxml.jackson.databind.ObjectMapper().readTree(s)
        .path("details").path("quality_gates");
    for (com.fasterxml.jackson.databind.JsonNode g : gates) {
      if (g.path("gate").asText().equals("personas.quality.max_future_share")) {
        assertEquals(0.0, g.path("measured").asDouble(), "no row of the run date is in the future: " + g);
        assertEquals("passed", g.path("status").asText());
      }
    }
    assertEquals(3, gates.size(), s);
    assertEquals(0L, CliTesting.count("SELECT count(*) FROM read_parquet('" + out + "/quarantine/*/*.parquet')"),
        "nothing quarantined");
  }

  /** The dates of the acceptance backfill. */
  private static final List<String> DATES = List.of("2024-03-08", "2024-03-09", "2024-03-10");

  @Test
  void aThreeDateBackfillFromOneFolderEqualsThreeSingleDateRunsRowByRow() throws Exception {
    // One folder holding every day (14 generated days, repeated and late events), plus rows that
    // break the contract on each date, so each date's quarantine differs and is compared too.
    String gen = dir.resolve("acceptance-gen").toString();
    assertEquals(0, CliTesting.cli("generate", "--users", "150", "--days", "14", "--end-date", "2024-03-10",
        "--seed", "19", "--out", gen));
    addBrokenRows(Path.of(gen, "events"));
    String conf = java.nio.file.Files.writeString(dir.resolve("acceptance.conf"), "personas.personas.k_min = 3\n"
        + "personas.personas.k_max = 4\npersonas.input.events.holds_later_days = true\n").toString();
    Path a = dir.resolve("acceptance-backfill");
    Path b = dir.resolve("acceptance-single");
    String[] common = {"--config", conf, "--events", gen + "/events", "--profiles", gen + "/profiles"};

    Result backfill = CliTesting.call(concat(concat(new String[] {"run"}, common), "--from", DATES.get(0), "--to",
        DATES.get(2), "--output", a.toString()));
    assertEquals(0, backfill.code(), backfill.out() + backfill.err());
    for (String d : DATES) {
      assertEquals(0, CliTesting.cli(concat(concat(new String[] {"run"}, common), "--date", d, "--output", b.toString())),
          d);
    }

    // Every table, every partition, every row: the same multiset of rows, each column compared as
    // DuckDB prints it (doubles to the last bit, maps and arrays in order).
    List<String> tables = subfolders(a).stream().filter(t -> !t.startsWith("_") && !List.of("runs", "models").contains(t))
        .toList();
    assertEquals(subfolders(b), subfolders(a), "the same tables and folders");
    assertEquals(List.of("features", "holdout_uplift", "k_selection", "personas", "predictions", "quarantine",
        "segment_history", "segment_kpis", "segment_transitions", "segments"), tables);
    for (String t : tables) {
      assertEquals(DATES.stream().map(d -> "dt=" + d).toList(), subfolders(a.resolve(t)), t + " has each date once");
      assertEquals(subfolders(a.resolve(t)), subfolders(b.resolve(t)), t);
      for (String d : DATES) {
        String x = parquet(a.resolve(t).resolve("dt=" + d));
        String y = parquet(b.resolve(t).resolve("dt=" + d));
        long rows = CliTesting.count("SELECT count(*) FROM " + x);
        assertEquals(CliTesting.count("SELECT count(*) FROM " + y), rows, t + " " + d + " rows");
        assertEquals(0, CliTesting.count("SELECT count(*) FROM ((" + asText(x) + " EXCEPT ALL " + asText(y)
            + ") UNION ALL (" + asText(y) + " EXCEPT ALL " + asText(x) + "))"), t + " " + d + " differs row by row");
        assertTrue(rows > 0, t + " " + d + " is not empty, so the comparison means something");
      }
    }
    assertEquals(List.of(2L, 3L, 4L), DATES.stream().map(d -> uncheckedCount(
        "SELECT count(*) FROM " + parquet(a.resolve("quarantine/dt=" + d)))).toList(),
        "each date quarantines the broken rows up to it; a later day's broken row waits for its date");

    for (String d : DATES) {
      // The summary, all but the timings and where the outputs are: reconciliation (later days
      // included), rows per table, gates, chosen k, names, KPIs, warnings.
      assertEquals(summaryTree(b, d), summaryTree(a, d), "summary of " + d);
      for (String report : List.of("report.md", "report.html")) {
        assertEquals(text(b.resolve("runs/dt=" + d + "/" + report), b), text(a.resolve("runs/dt=" + d + "/" + report), a),
            report + " of " + d);
      }
      // The persona model: k-means centres row by row, and the standardisation it was fitted with.
      Path ma = a.resolve("models/dt=" + d + "/persona_model");
      Path mb = b.resolve("models/dt=" + d + "/persona_model");
      String ca = parquet(ma.resolve("kmeans/data"));
      String cb = parquet(mb.resolve("kmeans/data"));
      assertEquals(0, CliTesting.count("SELECT count(*) FROM ((" + asText(ca) + " EXCEPT ALL " + asText(cb)
          + ") UNION ALL (" + asText(cb) + " EXCEPT ALL " + asText(ca) + "))"), "k-means centres of " + d);
      assertEquals(modelParams(mb), modelParams(ma), "model parameters of " + d);
    }
    List<Long> later = new java.util.ArrayList<>();
    for (String d : DATES) {
      later.add(new com.fasterxml.jackson.databind.ObjectMapper().readTree(summary(a, d))
          .path("reconciliation").path("events").path("later_days").asLong());
    }
    assertTrue(later.get(0) > later.get(1) && later.get(1) > later.get(2) && later.get(2) > 0,
        "each date skips the days of the folder after it: " + later);
    for (String d : DATES) {
      assertTrue(backfill.out().lines().anyMatch(l -> l.startsWith("  " + d + "  succeeded")), backfill.out());
    }
  }

  /**
   * Adds one Parquet file of rows that break the contract: two on the first date, one on each
   * later date (the last one a day after the backfill).
   */
  private static void addBrokenRows(Path events) throws Exception {
    Path tmp = dir.resolve("broken-tmp");
    SparkTestSession.get().sql("SELECT * FROM VALUES"
        + " ('bad-1', CAST(NULL AS STRING), TIMESTAMP'2024-03-08 09:00:00', 'session_start', CAST(NULL AS DOUBLE)),"
        + " ('bad-2', 'u-broken', TIMESTAMP'2024-03-08 10:00:00', 'purchase', CAST(NULL AS DOUBLE)),"
        + " ('bad-3', 'u-broken', TIMESTAMP'2024-03-09 10:00:00', CAST(NULL AS STRING), CAST(NULL AS DOUBLE)),"
        + " ('bad-4', 'u-broken', TIMESTAMP'2024-03-10 10:00:00', 'purchase', 1e15D),"
        + " ('bad-5', CAST(NULL AS STRING), TIMESTAMP'2024-03-11 10:00:00', 'session_start', CAST(NULL AS DOUBLE))"
        + " AS t(event_id, user_id, event_time, event_name, revenue)").coalesce(1).write().parquet(tmp.toString());
    try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(tmp)) {
      Path part = files.filter(f -> f.getFileName().toString().endsWith(".parquet")).findFirst().orElseThrow();
      java.nio.file.Files.move(part, events.resolve("broken.parquet"));
    }
  }

  private static String parquet(Path folder) {
    return "read_parquet('" + folder + "/*.parquet')";
  }

  /** Every column as DuckDB's text, so maps, arrays and structs compare like the rest. */
  private static String asText(String from) {
    return "SELECT CAST(COLUMNS(*) AS VARCHAR) FROM " + from;
  }

  private static long uncheckedCount(String sql) {
    try {
      return CliTesting.count(sql);
    } catch (Exception e) {
      throw new AssertionError(sql, e);
    }
  }

  /** Names of the folders in {@code parent}, sorted. */
  private static List<String> subfolders(Path parent) throws Exception {
    try (java.util.stream.Stream<Path> s = java.nio.file.Files.list(parent)) {
      return s.filter(java.nio.file.Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  /** A file's text with its output root replaced, so two roots compare. */
  private static String text(Path file, Path root) throws Exception {
    return java.nio.file.Files.readString(file).replace(root.toString(), "<output>");
  }

  /** The run summary without its timings, with the output root replaced. */
  private static com.fasterxml.jackson.databind.JsonNode summaryTree(Path root, String day) throws Exception {
    com.fasterxml.jackson.databind.node.ObjectNode tree = (com.fasterxml.jackson.databind.node.ObjectNode)
        new com.fasterxml.jackson.databind.ObjectMapper().readTree(text(root.resolve("runs/dt=" + day + "/summary.json"),
            root));
    assertTrue(tree.has("timings_s"), tree.toString());
    tree.remove("timings_s");
    return tree;
  }

  /** The saved model's parameters: the k-means metadata and each prep stage's, without uids and times. */
  private static List<String> modelParams(Path model) throws Exception {
    List<String> params = new java.util.ArrayList<>();
    try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(model)) {
      for (Path f : files.filter(p -> p.toString().contains("/metadata/part-")).sorted().toList()) {
        com.fasterxml.jackson.databind.JsonNode m = new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(java.nio.file.Files.readString(f));
        params.add(m.path("class").asText() + " " + m.path("k") + " " + m.path("trainingCost") + " "
            + m.path("paramMap").path("statement"));
      }
    }
    assertEquals(4, params.size(), "pipeline, its two stages and k-means: " + params);
    return params;
  }

  private static String[] concat(String[] head, String... tail) {
    return java.util.stream.Stream.concat(java.util.Arrays.stream(head), java.util.Arrays.stream(tail))
        .toArray(String[]::new);
  }
}
