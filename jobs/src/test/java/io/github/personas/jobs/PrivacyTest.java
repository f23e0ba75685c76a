package io.github.personas.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.testing.Files;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Personal columns never reach an output table or a log line, and users on the suppression list
 * reach no output at all, quarantine included.
 */
class PrivacyTest {

  private static final String EMAIL = "alice.secret@example.com";
  private static final String PHONE = "+44 7700 900123";
  private static final String SUPPRESSED = "u-forget-me";

  @TempDir
  Path dir;

  @Test
  void personalValuesAndSuppressedUsersAppearInNoOutputAndNoLog() throws Exception {
    SparkTestSession.get();
    Path events = Files.write(dir, "in/events.csv",
        "user_id,event_time,event_name,order_id,revenue,email,phone",
        EMAIL + ",2024-03-08 10:00:00,session_start,,," + EMAIL + "," + PHONE,
        " " + EMAIL + "\t,2024-03-08 10:05:00,purchase,o1,20.0," + EMAIL + "," + PHONE, // padded: the same person
        EMAIL + ",not-a-time,session_start,,," + EMAIL + "," + PHONE,        // quarantined with its raw row
        "u2,2024-03-09 11:00:00,session_start,,,bob@example.com,",
        "u2,2024-03-09 11:02:00,purchase,o2,5.0,bob@example.com,",
        SUPPRESSED + ",2024-03-09 12:00:00,session_start,,,carol@example.com,",
        SUPPRESSED + ",2024-03-09 12:01:00,purchase,o3,99.0,carol@example.com,",
        SUPPRESSED + ",yesterday,session_start,,,carol@example.com,");     // would be quarantined
    Path suppression = Files.write(dir, "in/suppressed.txt", SUPPRESSED, "");
    Path conf = Files.write(dir, "privacy.conf",
        "personas.input.events.format = csv",
        "personas.input.events.options.header = \"true\"",
        "personas.input.events.personal_columns { user_id = hash, email = hash, phone = drop }",
        "personas.input.profiles.path = \"\"",
        "personas.privacy.salt = \"test-salt\"",
        "personas.privacy.suppression_list = \"" + suppression + "\"",
        "personas.quality.max_quarantine_share = 0.9",
        "personas.personas.k_min = 2",
        "personas.personas.k_max = 2");
    Path out = dir.resolve("out");

    StringWriter log = new StringWriter();
    LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
    WriterAppender appender = WriterAppender.createAppender(PatternLayout.newBuilder().withPattern("%m%n").build(),
        null, log, "privacy-test", false, true);
    appender.start();
    ctx.getConfiguration().getRootLogger().addAppender(appender, Level.ALL, null);
    ctx.updateLoggers();
    // Every line personas logs is checked, not only the warnings tests log.
    Level level = LogManager.getLogger("io.github.personas").getLevel();
    Configurator.setLevel("io.github.personas", Level.INFO);
    StringWriter stdout = new StringWriter();
    StringWriter stderr = new StringWriter();
    int code;
    try {
      code = PersonasCli.run(new PrintWriter(stdout), new PrintWriter(stderr), "run", "--config", conf.toString(),
          "--events", events.toString(), "--date", "2024-03-10", "--output", out.toString());
    } finally {
      Configurator.setLevel("io.github.personas", level);
      ctx.getConfiguration().getRootLogger().removeAppender("privacy-test");
      ctx.updateLoggers();
      appender.stop();
    }
    assertEquals(0, code, stderr.toString());
    assertTrue(stdout.toString().contains("suppressed 3"), stdout.toString());

    List<String> planted = List.of(EMAIL, "alice.secret", PHONE, "bob@example.com", SUPPRESSED, "carol@example.com");
    List<String> found = new ArrayList<>();
    try (Stream<Path> files = java.nio.file.Files.walk(out);
         Connection c = DriverManager.getConnection("jdbc:duckdb:");
         Statement st = c.createStatement()) {
      for (Path f : files.filter(java.nio.file.Files::isRegularFile).toList()) {
        String name = f.getFileName().toString();
        for (String value : planted) {
          if (name.endsWith(".parquet")) {
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM read_parquet('" + f + "') t"
                + " WHERE contains(CAST(t AS VARCHAR), '" + value.replace("'", "''") + "')")) {
              rs.next();
              if (rs.getLong(1) > 0) {
                found.add(value + " in " + out.relativize(f));
              }
            }
          } else if (java.nio.file.Files.readString(f, StandardCharsets.ISO_8859_1).contains(value)) {
            found.add(value + " in " + out.relativize(f));
          }
        }
      }
    }
    assertEquals(List.of(), found, "planted personal values or suppressed users in the outputs");
    for (String value : planted) {
      assertTrue(!log.toString().contains(value) && !stdout.toString().contains(value)
          && !stderr.toString().contains(value), value + " in the log or the console");
    }
    // The hashed user is still one user across its events: one buyer with one order, quarantine has its bad row.
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT count(*), sum(frequency) FROM read_parquet('" + out
             + "/features/*/*.parquet')")) {
      rs.next();
      assertEquals(2, rs.getLong(1), "the hashed user (padded or not, trimmed before hashing) and u2; the"
          + " suppressed user is gone");
      assertEquals(2, rs.getLong(2));
    }
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT count(*) FROM read_parquet('" + out + "/quarantine/*/*.parquet')")) {
      rs.next();
      assertEquals(1, rs.getLong(1), "alice's bad row only; the suppressed user's bad row is not kept");
    }
  }

  @Test
  void aSuppressionListWithPaddedIdsSuppressesEveryListedUserAndCountsTheIdsThatMatchedNone() throws Exception {
    SparkTestSession.get();
    // The events carry one id with a trailing tab, the list ids with spaces, a no-break space and
    // a tab around them: trimmed one way on both sides, every listed user is found.
    Path events = Files.write(dir, "in/events.csv",
        "user_id,event_time,event_name,order_id,revenue",
        "u1,2024-03-08 10:00:00,session_start,,",
        "u2\t,2024-03-08 10:00:00,session_start,,",
        "u3,2024-03-09 10:00:00,session_start,,",
        "u4,2024-03-09 10:00:00,session_start,,",
        "u5,2024-03-09 11:00:00,purchase,o5,12.0");
    Path suppression = Files.write(dir, "in/suppressed.csv",
        "user_id", " u1 ", "u2", "\u00A0u3\t", "never-seen", "u1");
    Path conf = Files.write(dir, "padded.conf",
        "personas.input.events.format = csv",
        "personas.input.events.options.header = \"true\"",
        "personas.input.profiles.path = \"\"",
        "personas.privacy.suppression_list = \"" + suppression + "\"",
        "personas.privacy.suppression_format = csv",
        "personas.personas.k_min = 2",
        "personas.personas.k_max = 2");
    Path out = dir.resolve("out");
    StringWriter stdout = new StringWriter();
    StringWriter stderr = new StringWriter();
    int code = PersonasCli.run(new PrintWriter(stdout), new PrintWriter(stderr), "run", "--config", conf.toString(),
        "--events", events.toString(), "--date", "2024-03-10", "--output", out.toString());
    assertEquals(0, code, stderr.toString());
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT string_agg(user_id, ',' ORDER BY user_id) FROM read_parquet('" + out
             + "/features/*/*.parquet')")) {
      rs.next();
      assertEquals("u4,u5", rs.getString(1), "u1, u2 and u3 are on the list");
    }
    com.fasterxml.jackson.databind.JsonNode summary = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
        out.resolve("runs/dt=2024-03-10/summary.json").toFile());
    assertEquals(3, summary.at("/reconciliation/events/suppressed").asLong(), summary.toString());
    assertEquals(4, summary.at("/suppression/listed_ids").asLong(), "u1 is listed twice: " + summary);
    assertEquals(3, summary.at("/suppression/matched_users").asLong(), summary.toString());
    assertEquals(1, summary.at("/suppression/matched_no_user").asLong(), summary.toString());
  }
}
