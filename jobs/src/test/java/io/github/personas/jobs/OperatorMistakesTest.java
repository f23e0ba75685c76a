package io.github.personas.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.jobs.CliTesting.Result;
import io.github.personas.pipeline.testing.Files;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Operator mistakes that ended in exit 1 and a stack trace: each is a clear message naming the
 * file or folder, with exit 2, or a warning when the run can go on without harm.
 */
class OperatorMistakesTest {

  @TempDir
  static Path dir;

  private static final String HEADER = "user_id,event_time,event_name,order_id,revenue";
  private static final String ROW = "u1,2024-03-09 10:00:00,session_start,,";

  @BeforeAll
  static void session() {
    SparkTestSession.get();
  }

  private static Result validate(Path events, String out, String... configLines) {
    String[] lines = new String[configLines.length + 2];
    lines[0] = "personas.input.events.format = csv";
    lines[1] = "personas.input.profiles.path = \"\"";
    System.arraycopy(configLines, 0, lines, 2, configLines.length);
    Path conf = Files.write(dir, out + ".conf", lines);
    return CliTesting.call("validate", "--config", conf.toString(), "--events", events.toString(),
        "--date", "2024-03-10", "--output", dir.resolve(out).toString());
  }

  private static void assertClear(Result r, int code, String... fragments) {
    assertEquals(code, r.code(), r.out() + r.err());
    for (String f : fragments) {
      assertTrue(r.err().contains(f), "'" + f + "' in: " + r.err());
    }
    assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
  }

  @Test
  void aTextFileNamedGzIsAnErrorNamingTheFile() {
    Path events = Files.write(dir, "gz/events.csv.gz", HEADER, ROW);
    assertClear(validate(events.getParent(), "out-gz"), 2, "events.csv.gz", "gzip");
  }

  @Test
  void anOutputThatIsAFileIsAnErrorBeforeAnythingIsRead() throws Exception {
    Path events = Files.write(dir, "ok/events.csv", HEADER, ROW);
    Path file = java.nio.file.Files.writeString(dir.resolve("not-a-folder"), "x");
    Result r = CliTesting.call("validate", "--events", events.toString(), "--date", "2024-03-10",
        "--output", file.toString());
    assertClear(r, 2, "not-a-folder", "is a file");
    assertEquals("x", java.nio.file.Files.readString(file), "the file is left alone");
  }

  @Test
  void aStrayFolderAmongDatePartitionsIsSkippedWithAWarningNamingIt() throws Exception {
    Files.write(dir, "parts/dt=2024-03-09/a.csv", HEADER, ROW);
    Files.write(dir, "parts/dt=backup/a.csv", HEADER, ROW, "u2,2024-03-09 11:00:00,session_start,,");
    Result r = validate(dir.resolve("parts"), "out-parts");
    assertEquals(0, r.code(), r.out() + r.err());
    String summary = java.nio.file.Files.readString(dir.resolve("out-parts/runs/dt=2024-03-10/summary.json"));
    assertTrue(summary.contains("dt=backup"), summary);
    assertTrue(summary.contains("\"read\" : 1"), "only the date partition is read: " + summary);
  }

  @Test
  void aRunDateFarBeyondTheLatestEventIsAWarningInTheSummary() throws Exception {
    Path events = Files.write(dir, "stale/events.csv", HEADER, ROW, "u2,2024-03-09 11:00:00,session_start,,");
    Path conf = Files.write(dir, "stale.conf", "personas.input.events.format = csv",
        "personas.input.profiles.path = \"\"");
    for (String[] run : new String[][] {{"2024-06-10", "out-stale"}, {"2024-04-08", "out-recent"}}) {
      Result r = CliTesting.call("validate", "--config", conf.toString(), "--events", events.toString(),
          "--date", run[0], "--output", dir.resolve(run[1]).toString());
      assertEquals(0, r.code(), r.out() + r.err());
    }
    String stale = java.nio.file.Files.readString(dir.resolve("out-stale/runs/dt=2024-06-10/summary.json"));
    assertTrue(stale.contains("The run date 2024-06-10 is 93 days after the latest accepted event (2024-03-09T11:00:00Z"),
        stale);
    String recent = java.nio.file.Files.readString(dir.resolve("out-recent/runs/dt=2024-04-08/summary.json"));
    assertFalse(recent.contains("after the latest accepted event"), "30 days are within the default: " + recent);
  }

  @Test
  void aFileNameWithAColonIsAnErrorNamingIt() {
    Path events = Files.write(dir, "colon/export-2024-03-09T10:00:00.csv", HEADER, ROW);
    assertClear(validate(events.getParent(), "out-colon"), 2, "export-2024-03-09T10:00:00.csv", ":");
  }

  @Test
  void aFolderWithAColonInItsPathIsReadOrAnErrorNamingIt() {
    Path events = Files.write(dir, "in:put/events.csv", HEADER, ROW);
    Result r = validate(events.getParent(), "out-colon-folder");
    assertTrue(r.code() == 0 || (r.code() == 2 && r.err().contains("in:put")), r.out() + r.err());
    assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
  }

  @Test
  void aPathWithGlobCharactersThatExistsIsAnErrorNamingIt() {
    Path events = Files.write(dir, "ev[1]/events.csv", HEADER, ROW);
    assertClear(validate(events.getParent(), "out-glob"), 2, "ev[1]", "glob characters");
  }
}
