package io.github.personas.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.personas.pipeline.config.ConfigLoader;
import io.github.personas.pipeline.config.PersonasConfig;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Personas a marketer can act on, on data nobody here wrote (shared/datasets): the whole nightly
 * run through the CLI, its personas table read back by DuckDB as a BI tool would.
 */
class RealDataPersonasTest {

  @TempDir
  Path dir;

  /** One persona's row as the checks need it. */
  private record Persona(String id, String name, String kind, String rule, double precision, double recall,
                         List<String> traits) {}

  @ParameterizedTest(name = "{0}")
  @CsvSource({"online-retail.conf, 2011-12-09", "online-retail-ii.conf, 2010-12-09", "cdnow.conf, 1998-06-30"})
  void everyPersonaHasAUniqueInformativeNameAPreciseRuleExactTraitsAndAPlay(String conf, String date) throws Exception {
    PersonasConfig c = ConfigLoader.load(new File("../conf/examples/" + conf));
    String events = "../" + c.events().path();
    assumeTrue(new File(events).isFile(), "shared/datasets is not beside the checkout");
    Path out = dir.resolve("out");
    assertEquals(0, CliTesting.cli("run", "--config", "../conf/examples/" + conf, "--date", date, "--events", events,
        "--output", out.toString(), "--quiet"));

    List<Persona> personas = personas(out, date);
    assertTrue(personas.size() >= 2, conf + ": " + personas);
    Set<String> names = new HashSet<>();
    for (Persona p : personas) {
      System.out.printf("%s %s %s '%s' (%s): %s (precision %.3f, recall %.3f)%n", conf, date, p.id(), p.name(),
          p.kind(), p.rule(), p.precision(), p.recall());
      assertTrue(names.add(p.name().toLowerCase(Locale.ROOT)), conf + ": two personas named " + p.name());
      assertFalse(p.name().toLowerCase(Locale.ROOT).contains("typical"), conf + ": " + p.name());
      assertFalse(p.name().matches(".*\\d.*"), conf + ": a number in " + p.name());
      assertTrue(p.name().split(" ").length <= 4, conf + ": at most three adjectives and a noun: " + p.name());
      assertFalse(p.name().endsWith(" users") || p.name().endsWith(" browsers"),
          conf + ": transaction data has customers or buyers, not app users: " + p.name());
      assertFalse(p.rule() == null || p.rule().isBlank() || p.rule().equals("false"), conf + ": " + p.name());
      assertTrue(p.precision() >= 0.8, conf + ": " + p.name() + ": " + p.rule() + " precision " + p.precision());
      assertFalse(p.traits().isEmpty(), conf + ": " + p.name() + " has no trait");
    }
    TraitCheck.everyTraitNumberIsRecomputedFromTheTables(out, date);

    // The report shows each persona's rule, traits and play.
    String html = Files.readString(out.resolve("runs/dt=" + date + "/report.html"));
    for (Persona p : personas) {
      assertTrue(html.contains(escape(p.rule())), conf + ": rule of " + p.name() + " not in report.html");
      for (String t : p.traits()) {
        assertTrue(html.contains(escape(t)), conf + ": trait '" + t + "' not in report.html");
      }
    }
    assertTrue(html.contains("No channel: the data shows none these users are reachable on"),
        conf + ": transaction data shows no channel, and the play says so");
  }

  @Test
  void onlineRetailIiReadsEveryRowAndQuarantinesRowsWithoutCustomer() throws Exception {
    PersonasConfig c = ConfigLoader.load(new File("../conf/examples/online-retail-ii.conf"));
    String events = "../" + c.events().path();
    assumeTrue(new File(events).isFile(), "shared/datasets is not beside the checkout");
    Path out = dir.resolve("out");
    assertEquals(0, CliTesting.cli("features", "--config", "../conf/examples/online-retail-ii.conf", "--date",
        "2010-12-09", "--events", events, "--output", out.toString(), "--quiet"));
    com.fasterxml.jackson.databind.JsonNode counts = new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(out.resolve("runs/dt=2010-12-09/summary.json").toFile()).path("reconciliation").path("events");
    assertEquals(525_461, counts.path("read").asLong(), counts.toString());
    assertEquals(107_927, counts.path("quarantined_by_reason").path("missing_user_id").asLong(), counts.toString());
    assertEquals(417_534, counts.path("accepted").asLong(), counts.toString());
    assertEquals(4383, CliTesting.count("SELECT count(*) FROM read_parquet('" + out
        + "/features/dt=2010-12-09/*.parquet')"), "every customer of the README");
  }

  /** As the report's template escapes text. */
  private static String escape(String s) {
    return com.samskivert.mustache.Escapers.HTML.escape(s);
  }

  private static List<Persona> personas(Path out, String date) throws Exception {
    List<Persona> list = new ArrayList<>();
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement();
         ResultSet r = s.executeQuery("SELECT persona_id, persona_name, kind, rule, rule_precision, rule_recall,"
             + " to_json(traits) FROM read_parquet('" + out + "/personas/dt=" + date + "/*.parquet') ORDER BY 1")) {
      while (r.next()) {
        list.add(new Persona(r.getString(1), r.getString(2), r.getString(3), r.getString(4), r.getDouble(5),
            r.getDouble(6), TraitCheck.strings(r.getString(7))));
      }
    }
    return list;
  }
}
