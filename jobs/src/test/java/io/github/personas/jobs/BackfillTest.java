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
}
