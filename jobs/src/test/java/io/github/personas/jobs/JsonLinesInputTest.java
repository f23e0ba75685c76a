package io.github.personas.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.personas.jobs.CliTesting.Result;
import io.github.personas.pipeline.testing.Files;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * JSON Lines sources through the CLI: one bad line (a key twice, a key that differs from another
 * only in case, a truncated line, a value that is not an object) is quarantined with a reason of
 * its own and the file it came from, and the rest of the file is read. Each of these failed the
 * whole run, or was counted as {@code missing_user_id}.
 */
class JsonLinesInputTest {

  @TempDir
  static Path dir;

  private static final String OK1 = "{\"user_id\":\"u1\",\"event_time\":\"2024-03-09 10:00:00\",\"event_name\":\"session_start\"}";
  private static final String OK2 = "{\"user_id\":\"u2\",\"event_time\":\"2024-03-09 11:00:00\",\"event_name\":\"session_start\"}";

  @BeforeAll
  static void session() {
    SparkTestSession.get();
  }

  private static Result validate(Path events, String out, String... configLines) {
    List<String> lines = new ArrayList<>(List.of("personas.input.events.format = json",
        "personas.input.profiles.path = \"\"", "personas.quality.max_quarantine_share = 0.9"));
    lines.addAll(List.of(configLines));
    Path conf = Files.write(dir, out + ".conf", lines.toArray(String[]::new));
    return CliTesting.call("validate", "--config", conf.toString(), "--events", events.toString(),
        "--date", "2024-03-10", "--output", dir.resolve(out).toString());
  }

  private static JsonNode events(String out) throws Exception {
    return new ObjectMapper().readTree(dir.resolve(out + "/runs/dt=2024-03-10/summary.json").toFile())
        .path("reconciliation").path("events");
  }

  /** The quarantine's rows as "reason | file name | detail | raw", sorted. */
  private static List<String> quarantine(String out) throws Exception {
    List<String> rows = new ArrayList<>();
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
         Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT reason, regexp_extract(source_file, '[^/]+$'), detail, raw FROM read_parquet('"
             + dir.resolve(out) + "/quarantine/*/*.parquet') ORDER BY 1, 2, 3, 4")) {
      while (rs.next()) {
        rows.add(rs.getString(1) + " | " + rs.getString(2) + " | " + rs.getString(3) + " | " + rs.getString(4));
      }
    }
    return rows;
  }

  private static void assertRead(Result r, String out, long read, long accepted, long quarantined) throws Exception {
    assertEquals(0, r.code(), r.out() + r.err());
    assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    JsonNode ev = events(out);
    assertEquals(read, ev.path("read").asLong(), ev.toString());
    assertEquals(accepted, ev.path("accepted").asLong(), ev.toString());
    assertEquals(quarantined, ev.path("quarantined").asLong(), ev.toString());
  }

  @Test
  void aLineWithADuplicatedKeyIsQuarantinedAndTheRestOfTheFileIsRead() throws Exception {
    Path events = Files.write(dir, "dup/events.json", OK1,
        "{\"user_id\":\"u3\",\"user_id\":\"u4\",\"event_time\":\"2024-03-09 12:00:00\",\"event_name\":\"session_start\"}",
        OK2);
    assertRead(validate(events.getParent(), "out-dup"), "out-dup", 3, 2, 1);
    List<String> q = quarantine("out-dup");
    assertEquals(1, q.size(), q.toString());
    assertTrue(q.get(0).startsWith("duplicate_json_key | events.json | "), q.toString());
    assertTrue(q.get(0).contains("user_id"), "the detail names the key: " + q);
  }

  @Test
  void aLineWithAKeyDifferingOnlyInCaseFromAContractColumnIsQuarantinedWhereverItIs() throws Exception {
    // In one object, and alone in a line of another file of the folder: Spark merges keys
    // without regard to case, so either failed the whole source.
    Files.write(dir, "case/a.json", OK1,
        "{\"user_id\":\"u3\",\"User_Id\":\"u4\",\"event_time\":\"2024-03-09 12:00:00\",\"event_name\":\"session_start\"}");
    Files.write(dir, "case/b.json", OK2,
        "{\"USER_ID\":\"u5\",\"event_time\":\"2024-03-09 12:00:00\",\"event_name\":\"session_start\"}");
    assertRead(validate(dir.resolve("case"), "out-case"), "out-case", 4, 2, 2);
    List<String> q = quarantine("out-case");
    assertEquals(2, q.size(), q.toString());
    assertTrue(q.get(0).startsWith("ambiguous_json_key | a.json | ") && q.get(0).contains("User_Id"), q.toString());
    assertTrue(q.get(1).startsWith("ambiguous_json_key | b.json | ") && q.get(1).contains("USER_ID"), q.toString());
  }

  @Test
  void truncatedAndNonObjectLinesGetReasonsOfTheirOwnAndKeepTheirText() throws Exception {
    Path events = Files.write(dir, "broken/events.json", OK1,
        "{\"user_id\":\"u2\",\"event_ti",
        "42", "\"x\"", "[1,2]", "[" + OK2 + "]", "null", "", OK2);
    assertRead(validate(events.getParent(), "out-broken"), "out-broken", 8, 2, 6);
    List<String> q = quarantine("out-broken");
    assertEquals(6, q.size(), q.toString());
    assertTrue(q.get(0).startsWith("malformed_json | events.json | ") && q.get(0).endsWith("| {\"user_id\":\"u2\",\"event_ti"),
        "a truncated line keeps its text as raw: " + q);
    assertTrue(q.subList(1, 6).stream().allMatch(s -> s.startsWith("not_a_json_object | events.json | ")), q.toString());
    assertTrue(q.stream().anyMatch(s -> s.endsWith("| [" + OK2 + "]")), "an array is one bad line, not its elements: " + q);
  }
}
