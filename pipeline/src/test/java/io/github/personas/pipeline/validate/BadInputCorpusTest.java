package io.github.personas.pipeline.validate;

import io.github.personas.pipeline.engine.Caches;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.SourceConfig;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A corpus of bad inputs, each with its expected outcome: where every row goes (accepted,
 * quarantined by reason, duplicates), reconciled against the rows read, or the clear error a
 * person gets. docs/bad-inputs.md lists these and the cases tested elsewhere (k-means on identical
 * users, fewer users than k, one user, the gates), and a test here keeps it in step.
 */
class BadInputCorpusTest {

  private final Caches caches = new Caches();

  @org.junit.jupiter.api.AfterEach
  void releaseCaches() {
    caches.close();
  }

  private static final LocalDate D = LocalDate.parse("2024-03-10");
  private static final String H = "event_id,user_id,event_time,event_name,order_id,revenue";
  private static final String OK = "e1,u1,2024-03-09 10:00:00,session_start,,";

  @TempDir
  Path dir;

  /**
   * One case.
   *
   * @param name        what is wrong
   * @param files       file name to content (bytes, so invalid UTF-8 can be written)
   * @param profiles    true when the files are profiles, not events
   * @param read        rows read
   * @param accepted    rows accepted
   * @param duplicates  rows dropped as duplicates
   * @param reasons     quarantined rows per reason
   * @param error       for a configuration error: a fragment of its message; null otherwise
   */
  record Case(String name, Map<String, byte[]> files, boolean profiles, long read, long accepted, long duplicates,
              Map<String, Long> reasons, String error) {
    @Override
    public String toString() {
      return name;
    }

    /** The source's format: JSON Lines when its files are .json, else CSV. */
    String format() {
      return files.keySet().stream().anyMatch(f -> f.endsWith(".json")) ? "json" : "csv";
    }
  }

  private static Map<String, byte[]> csv(String... lines) {
    return Map.of("events.csv", (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
  }

  private static Map<String, byte[]> json(String... lines) {
    return Map.of("events.json", (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
  }

  private static String event(String id, String user, String time) {
    return "{\"event_id\":\"" + id + "\",\"user_id\":\"" + user + "\",\"event_time\":\"" + time
        + "\",\"event_name\":\"session_start\"}";
  }

  private static Case rows(String name, Map<String, byte[]> files, long read, long accepted, long duplicates,
                           Map<String, Long> reasons) {
    return new Case(name, files, false, read, accepted, duplicates, reasons, null);
  }

  static Stream<Case> corpus() {
    Map<String, byte[]> twoSchemas = new LinkedHashMap<>();
    twoSchemas.put("a.csv", (H + "\n" + OK + "\n").getBytes(StandardCharsets.UTF_8));
    twoSchemas.put("b.csv", ("user_id,event_name,event_time\nu2,session_start,2024-03-09 11:00:00\n")
        .getBytes(StandardCharsets.UTF_8));
    byte[] invalidUtf8 = (H + "\ne1,u\u00ff1,2024-03-09 10:00:00,session_start,,\n").getBytes(StandardCharsets.ISO_8859_1);
    String longName = "x".repeat(100_000);
    return Stream.of(
        new Case("empty file", Map.of("events.csv", new byte[0]), false, 0, 0, 0, Map.of(), "user_id"),
        new Case("folder without files", Map.of(), false, 0, 0, 0, Map.of(), "holds no files"),
        rows("header only", csv(H), 0, 0, 0, Map.of()),
        new Case("missing required column", csv("event_id,user_id,event_name", "e1,u1,session_start"), false, 0, 0, 0,
            Map.of(), "event_time"),
        rows("wrong types", csv(H, OK, "e2,u1,2024-03-09 10:00:00,purchase,o1,twelve"), 2, 1, 0,
            Map.of("invalid_revenue", 1L)),
        rows("nulls in required columns", csv(H, OK, "e2,,2024-03-09 10:00:00,session_start,,",
            "e3,u1,,session_start,,", "e4,u1,2024-03-09 10:00:00,,,"), 4, 1, 0,
            Map.of("missing_user_id", 1L, "missing_event_time", 1L, "missing_event_name", 1L)),
        rows("unparseable timestamp", csv(H, OK, "e2,u1,yesterday,session_start,,"), 2, 1, 0,
            Map.of("unparseable_event_time", 1L)),
        rows("future timestamp", csv(H, OK, "e2,u1,2024-03-11 00:00:00,session_start,,"), 2, 1, 0,
            Map.of("event_after_run_date", 1L)),
        rows("negative revenue on a purchase is a refund", csv(H, OK, "e2,u1,2024-03-09 10:00:00,purchase,o1,-5.0"),
            2, 2, 0, Map.of()),
        rows("NaN and infinite revenue", csv(H, OK, "e2,u1,2024-03-09 10:00:00,purchase,o1,NaN",
            "e3,u1,2024-03-09 10:00:00,purchase,o2,Infinity"), 3, 1, 0, Map.of("non_finite_revenue", 2L)),
        rows("purchase without revenue", csv(H, OK, "e2,u1,2024-03-09 10:00:00,purchase,o1,"), 2, 1, 0,
            Map.of("purchase_without_revenue", 1L)),
        rows("duplicate event ids", csv(H, OK, OK, OK), 3, 1, 2, Map.of()),
        rows("unknown event names are custom events", csv(H, OK, "e2,u1,2024-03-09 10:00:00,played_level_3,,"),
            2, 2, 0, Map.of()),
        rows("very long strings", csv(H, OK, "e2,u1,2024-03-09 10:00:00," + longName + ",,"), 2, 2, 0, Map.of()),
        rows("invalid UTF-8", Map.of("events.csv", invalidUtf8), 1, 1, 0, Map.of()),
        // Spark would read b.csv position by position under a.csv's header: a clear error instead.
        new Case("files with differing schemas in one folder", twoSchemas, false, 0, 0, 0, Map.of(), "b.csv"),
        new Case("duplicate profiles", Map.of("profiles.csv", ("user_id,birth_year\nu1,1980\nu1,1980\nu2,1990\n")
            .getBytes(StandardCharsets.UTF_8)), true, 3, 2, 1, Map.of(), null),
        new Case("profiles with wrong types", Map.of("profiles.csv", ("user_id,birth_year\nu1,nineteen\n")
            .getBytes(StandardCharsets.UTF_8)), true, 1, 0, 0, Map.of("invalid_birth_year", 1L), null),
        rows("epoch millis are timestamps", csv(H, "e1,u1,1709978400000,session_start,,"), 1, 1, 0, Map.of()),
        // Spark's trim removes spaces only: a tab, a no-break space or an ideographic space was a user.
        rows("user ids of only whitespace are missing", csv(H, OK, "e2,\t,2024-03-09 10:00:00,session_start,,",
            "e3,\u00A0,2024-03-09 10:00:00,session_start,,", "e4,\u3000\u200B,2024-03-09 10:00:00,session_start,,"),
            4, 1, 0, Map.of("missing_user_id", 3L)),
        // ... and an id with a trailing tab a second copy of a real user.
        new Case("user ids padded with Unicode whitespace are one user", Map.of("profiles.csv",
            "user_id,birth_year\nu1,1980\nu1\t,1980\n\u3000u1\u00A0,1980\n".getBytes(StandardCharsets.UTF_8)),
            true, 3, 1, 2, Map.of(), null),
        rows("a quoted field with a line break is one row", csv(H, OK,
            "e2,u1,2024-03-09 10:00:00,\"level\nup\",,"), 2, 2, 0, Map.of()),
        // Under a backslash escape the order id swallowed the revenue: a purchase without revenue.
        rows("a quoted field ending in a backslash ends there", csv(H, OK,
            "e2,u1,2024-03-09 10:00:00,purchase,\"o2\\\",5"), 2, 2, 0, Map.of()),
        // Two of these summed to +Infinity: one persona for everyone, NaN distances, exit 0.
        rows("revenue near the double maximum is implausible", csv(H, OK,
            "e2,u1,2024-03-09 10:00:00,purchase,o1,1.7e308", "e3,u1,2024-03-09 10:00:00,purchase,o2,-1.7e308",
            "e4,u1,2024-03-09 10:00:00,purchase,o3,999999999999"), 4, 2, 0, Map.of("implausible_revenue", 2L)),
        // Spark's JSON reader failed the whole source on each of these JSON Lines cases.
        rows("a JSON line with a key twice", json(event("e1", "u1", "2024-03-09 10:00:00"),
            "{\"event_id\":\"e2\",\"user_id\":\"u2\",\"user_id\":\"u3\",\"event_time\":\"2024-03-09 10:00:00\","
                + "\"event_name\":\"session_start\"}", event("e3", "u4", "2024-03-09 11:00:00")),
            3, 2, 0, Map.of("duplicate_json_key", 1L)),
        rows("JSON keys differing only in case from a contract column", json(event("e1", "u1", "2024-03-09 10:00:00"),
            "{\"event_id\":\"e2\",\"user_id\":\"u2\",\"User_Id\":\"u3\",\"event_time\":\"2024-03-09 10:00:00\","
                + "\"event_name\":\"session_start\"}",
            "{\"event_id\":\"e3\",\"USER_ID\":\"u4\",\"event_time\":\"2024-03-09 10:00:00\",\"event_name\":\"session_start\"}",
            event("e4", "u5", "2024-03-09 11:00:00")), 4, 2, 0, Map.of("ambiguous_json_key", 2L)),
        // These were rows of nulls (missing_user_id), and an array of objects a row per object.
        rows("JSON lines cut short or not objects", json(event("e1", "u1", "2024-03-09 10:00:00"),
            "{\"event_id\":\"e2\",\"user_id\":\"u2\",\"event_ti", "42", "\"x\"", "[1,2]",
            "[" + event("e3", "u3", "2024-03-09 10:00:00") + "]", "null"),
            7, 1, 0, Map.of("malformed_json", 1L, "not_a_json_object", 5L)),
        // A zero or default timestamp, a clock reset: each was an event, and a user with a tenure of decades.
        rows("event times before the earliest date", csv(H, OK, "e2,u1,1999-12-31 23:59:59,session_start,,",
            "e3,u1,1970-01-01 00:00:00,session_start,,", "e4,u1,631152000000,session_start,,"), 4, 1, 0,
            Map.of("event_before_earliest_date", 3L)),
        // 1709978400 is 2024-03-09 10:00 in seconds; read as milliseconds it was an event of 1970-01-20.
        rows("epoch seconds where milliseconds are expected", csv(H, OK, "e2,u1,1709978400,session_start,,",
            "e3,u1,999999999,session_start,,", "e4,u1,1709978400000,session_start,,"), 4, 2, 0,
            Map.of("epoch_seconds_not_millis", 2L)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("corpus")
  void everyRowIsAccountedForOrTheErrorIsClear(Case c) throws Exception {
    Path folder = dir.resolve("input");
    Files.createDirectories(folder);
    for (Map.Entry<String, byte[]> f : c.files().entrySet()) {
      Files.write(folder.resolve(f.getKey()), f.getValue());
    }
    String source = c.profiles() ? "profiles" : "events";
    SourceConfig config = new SourceConfig(source, folder.toString(), c.format(),
        c.format().equals("csv") ? Map.of("header", "true") : Map.of(), "", Map.of(), "personas.input." + source);
    ContractValidator validator = new ContractValidator(SparkTestSession.get(), D, caches);
    if (c.error() != null) {
      ConfigException e = assertThrows(ConfigException.class,
          () -> (c.profiles() ? validator.profiles(config) : validator.events(config)).counts());
      assertTrue(e.getMessage().contains(c.error()) && e.getMessage().contains("personas.input." + source),
          e.getMessage());
      return;
    }
    ValidationResult r = c.profiles() ? validator.profiles(config) : validator.events(config);
    SourceCounts n = r.counts();
    assertTrue(n.reconciles(), n.toString());
    assertEquals(c.read(), n.read(), "read: " + n);
    assertEquals(c.accepted(), n.accepted(), "accepted: " + n);
    assertEquals(c.duplicates(), n.duplicates(), "duplicates: " + n);
    assertEquals(c.reasons(), n.byReason(), "quarantined by reason: " + n);
    assertEquals(c.accepted(), r.accepted().count(), "accepted rows are there");
    assertEquals(n.quarantined(), r.quarantine().count(), "quarantined rows are there");
    for (var q : r.quarantine().collectAsList()) {
      assertTrue(q.<String>getAs("detail") == null || q.<String>getAs("detail").length() <= 200, "detail is short");
      assertTrue(c.files().containsKey(Path.of(q.<String>getAs("source_file")).getFileName().toString()),
          "the quarantined row names its file: " + q);
    }
  }

  /**
   * What a case gives, as docs/bad-inputs.md says it: the error, or where the rows went.
   */
  static String outcome(Case c) {
    if (c.error() != null) {
      return "error naming `" + c.error() + "`";
    }
    StringBuilder b = new StringBuilder(String.format("read %d, accepted %d", c.read(), c.accepted()));
    if (c.duplicates() > 0) {
      b.append(String.format(", duplicates %d", c.duplicates()));
    }
    new java.util.TreeMap<>(c.reasons()).forEach((reason, n) -> b.append(String.format(", `%s` %d", reason, n)));
    return b.toString();
  }

  private static final java.util.regex.Pattern DOC_ROW =
      java.util.regex.Pattern.compile("^\\| \\d+ \\| ([^|]+?) \\| ([^|]+?) \\| ([^|]+?) \\|$");

  @org.junit.jupiter.api.Test
  void docsListEveryCaseWithItsOutcomeAndATestThatExists() throws Exception {
    Map<String, Case> here = new LinkedHashMap<>();
    corpus().forEach(c -> here.put(c.name(), c));
    List<String> documentedHere = new java.util.ArrayList<>();
    int rows = 0;
    for (String line : Files.readAllLines(Path.of("../docs/bad-inputs.md"))) {
      java.util.regex.Matcher m = DOC_ROW.matcher(line);
      if (!m.find()) {
        continue;
      }
      rows++;
      String name = m.group(1);
      String outcome = m.group(2);
      String test = m.group(3);
      if (test.equals("BadInputCorpusTest")) {
        Case c = here.get(name);
        assertTrue(c != null, "docs/bad-inputs.md names a corpus case that is not in corpus(): " + name);
        assertEquals(outcome(c), outcome, "outcome of '" + name + "' in docs/bad-inputs.md");
        documentedHere.add(name);
      } else {
        // Class#method in the pipeline or jobs tests: the method must exist.
        String[] cm = test.replace("`", "").split("#");
        assertEquals(2, cm.length, "test column must be BadInputCorpusTest or Class#method: " + test);
        boolean found = false;
        for (String module : List.of("../pipeline", "../jobs")) {
          try (Stream<Path> files = Files.walk(Path.of(module, "src/test/java"))) {
            for (Path f : files.filter(x -> x.getFileName().toString().equals(cm[0] + ".java")).toList()) {
              found |= Files.readString(f).contains("void " + cm[1] + "(");
            }
          }
        }
        assertTrue(found, "docs/bad-inputs.md names a test that does not exist: " + test);
      }
    }
    assertEquals(List.copyOf(here.keySet()), documentedHere, "every corpus case is documented, in order");
    assertTrue(rows >= 20, "the issue asks for at least 20 cases; documented: " + rows);
  }
}
