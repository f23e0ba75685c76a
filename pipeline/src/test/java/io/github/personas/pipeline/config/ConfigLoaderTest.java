package io.github.personas.pipeline.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.testing.Files;
import java.io.File;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

  @TempDir
  Path dir;

  private ConfigException loadError(String... lines) {
    File f = Files.write(dir, "bad.conf", lines).toFile();
    return assertThrows(ConfigException.class, () -> ConfigLoader.load(f));
  }

  @Test
  void defaultsLoadFromTheBundledConfFile() {
    PersonasConfig c = ConfigLoader.defaults();
    assertEquals("sample-data/events", c.events().path());
    assertEquals(11, c.rfm().segments().size());
    assertEquals("Champions", c.rfm().segments().get(0).name());
    assertEquals(64, c.hash().length());
  }

  @Test
  void userFileOverridesOnlyTheKeysItSets() {
    File f = Files.write(dir, "my.conf", "personas.personas.k_min = 5", "personas.input.events.columns.user_id = \"CustomerID\"").toFile();
    PersonasConfig c = ConfigLoader.load(f);
    assertEquals(5, c.personas().kMin());
    assertEquals("CustomerID", c.events().columns().get("user_id"));
    assertEquals("parquet", c.events().format());
    assertNotEquals(ConfigLoader.defaults().hash(), c.hash());
  }

  @Test
  void unknownKeyNamesTheKeyTheFileAndTheLine() {
    ConfigException e = loadError("personas {", "  personas { kk = 5 }", "}");
    assertTrue(e.getMessage().contains("personas.personas.kk"), e.getMessage());
    assertTrue(e.getMessage().contains("bad.conf:2"), e.getMessage());
  }

  @Test
  void wrongTypeNamesTheKey() {
    ConfigException e = loadError("personas.personas.k_max = many");
    assertTrue(e.getMessage().contains("personas.k_max"), e.getMessage());
  }

  @Test
  void unknownFormatIsRejected() {
    ConfigException e = loadError("personas.input.events.format = xlsx");
    assertTrue(e.getMessage().contains("personas.input.events.format") && e.getMessage().contains("xlsx"), e.getMessage());
  }

  @Test
  void rowsPerFileBelowOneIsRejectedWithItsKey() {
    ConfigException e = loadError("personas.output.rows_per_file = 0");
    assertTrue(e.getMessage().contains("personas.output.rows_per_file must be at least 1, got 0"), e.getMessage());
    assertEquals(250_000L, ConfigLoader.defaults().rowsPerFile());
  }

  @Test
  void catalogRegistrationIsOffByDefaultAndTakesOnlyAPlainLowerCaseDatabaseName() {
    assertEquals(java.util.Optional.empty(), ConfigLoader.defaults().catalogDatabase());
    File on = Files.write(dir, "catalog.conf", "personas.output.catalog = marts_personas").toFile();
    assertEquals(java.util.Optional.of("marts_personas"), ConfigLoader.load(on).catalogDatabase());
    for (String bad : List.of("\"Personas\"", "\"marts.personas\"", "\"1personas\"", "\"per-sonas\"")) {
      ConfigException e = loadError("personas.output.catalog = " + bad);
      assertTrue(e.getMessage().contains("personas.output.catalog") && e.getMessage().contains("not a database name"),
          bad + ": " + e.getMessage());
    }
  }

  @Test
  void theMinimumEffectOfTheSignificanceMarkIsCheckedAtLoadNamingTheKey() {
    assertEquals(0.05, ConfigLoader.defaults().report().minEffect());
    assertEquals(0.0, ConfigLoader.load(Files.write(dir, "zero.conf", "personas.report.min_effect = 0").toFile())
        .report().minEffect());
    for (String bad : java.util.List.of("-0.01", "1", "1.5")) {
      ConfigException e = loadError("personas.report.min_effect = " + bad);
      assertTrue(e.getMessage().contains("personas.report.min_effect must be within [0, 1)")
          && e.getMessage().contains("bad.conf"), e.getMessage());
    }
    ConfigException notANumber = loadError("personas.report.min_effect = five-percent");
    assertTrue(notANumber.getMessage().contains("personas.report.min_effect"), notANumber.getMessage());
  }

  @Test
  void unknownTimeZoneIsRejected() {
    assertTrue(loadError("personas.run.timezone = \"Mars/Olympus\"").getMessage().contains("personas.run.timezone"));
  }

  @Test
  void repeatedRuleNamesAreRejected() {
    ConfigException e = loadError("personas.rfm.segments = [", "{ name = A, when = \"r_score >= 3\" }",
        "{ name = A, when = \"r_score < 3\" }", "]");
    assertTrue(e.getMessage().contains("'A' twice"), e.getMessage());
  }

  @Test
  void ruleWithUnknownKeyIsRejected() {
    ConfigException e = loadError("personas.rfm.segments = [ { name = A, condition = \"true\" } ]");
    assertTrue(e.getMessage().contains("unknown key 'condition'"), e.getMessage());
  }

  @Test
  void personaSettingsAreCheckedAtLoadNamingTheKey() {
    assertTrue(loadError("personas.personas.k_min = 9", "personas.personas.k_max = 4").getMessage()
        .contains("k_min = 9, k_max = 4"));
    ConfigException transform = loadError("personas.personas.features = [ { name = f, expr = frequency, transform = log } ]");
    assertTrue(transform.getMessage().contains("transform 'log'") && transform.getMessage().contains("features[0] 'f'"),
        transform.getMessage());
    ConfigException word = loadError("personas.personas.naming.vocabulary = [ { feature = nope, high = big } ]");
    assertTrue(word.getMessage().contains("'nope'") && word.getMessage().contains("not a clustering input"),
        word.getMessage());
    ConfigException name = loadError("personas.personas.features = [ { name = \"Order Count\", expr = frequency } ]");
    assertTrue(name.getMessage().contains("snake_case"), name.getMessage());
  }

  @Test
  void personalColumnsNeedAnActionAndASalt() {
    ConfigException action = loadError("personas.input.events.personal_columns { email = encrypt }",
        "personas.privacy.salt = s");
    assertTrue(action.getMessage().contains("personas.input.events.personal_columns.email")
        && action.getMessage().contains("hash") && action.getMessage().contains("drop"), action.getMessage());
    ConfigException salt = loadError("personas.input.events.personal_columns { email = hash }");
    assertTrue(salt.getMessage().contains("personas.privacy.salt"), salt.getMessage());
    File ok = Files.write(dir, "pii.conf", "personas.input.events.personal_columns { email = hash, ip = drop }",
        "personas.privacy.salt = s3cret").toFile();
    assertEquals(java.util.Map.of("email", "hash", "ip", "drop"), ConfigLoader.load(ok).events().personalColumns());
  }

  @Test
  void fixedRfmCutPointsNeedFourAscendingValues() {
    File ok = Files.write(dir, "cuts.conf", "personas.rfm.cut_points.recency_days = [7, 30, 90, 180]").toFile();
    assertEquals(java.util.List.of(7.0, 30.0, 90.0, 180.0), ConfigLoader.load(ok).rfm().cutPoints().recencyDays());
    assertTrue(ConfigLoader.load(ok).rfm().cutPoints().frequency().isEmpty(), "others stay quantiles");
    assertTrue(loadError("personas.rfm.cut_points.frequency = [1, 2, 3]").getMessage().contains("exactly 4 values"));
    assertTrue(loadError("personas.rfm.cut_points.monetary = [10, 5, 20, 30]").getMessage().contains("ascending"));
  }

  @Test
  void missingConfigFileIsAConfigError() {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(dir.resolve("none.conf").toFile()));
    assertTrue(e.getMessage().contains("none.conf"), e.getMessage());
  }

  @Test
  void shippedExampleConfigsLoad() {
    for (String name : new String[] {"online-retail.conf", "cdnow.conf"}) {
      PersonasConfig c = ConfigLoader.load(new File("../conf/examples/" + name));
      assertTrue(c.events().path().startsWith("../shared/datasets/"), c.events().path());
      assertTrue(!c.profiles().isPresent());
    }
  }

  private static final java.time.LocalDate D = java.time.LocalDate.of(2024, 3, 10);

  @Test
  void aQuotedDatePlaceholderInInputPathsLoadsAsWrittenAndEachRunReplacesItWithItsDate() {
    File f = Files.write(dir, "dated.conf", "personas.input.events.path = \"/data/events/dt=${date}\"",
        "personas.input.profiles.path = \"/data/profiles/${date}/profiles-${date}.csv\"").toFile();
    PersonasConfig c = ConfigLoader.load(f);
    assertEquals("/data/events/dt=${date}", c.events().path(), "loading keeps the template");
    PersonasConfig run = c.forDate(D);
    assertEquals("/data/events/dt=2024-03-10", run.events().path());
    assertEquals("/data/profiles/2024-03-10/profiles-2024-03-10.csv", run.profiles().path(), "every ${date} replaced");
    assertTrue(run.events().datedPath() && run.profiles().datedPath(), "the run knows each file is the date's");
    assertEquals(c.hash(), run.hash(), "the summary's config hash is the template's, the same for every date");
    PersonasConfig plain = ConfigLoader.defaults();
    assertTrue(plain.forDate(D) == plain && !plain.events().datedPath(), "a path without ${date} is left alone");
  }

  @Test
  void anUnquotedDatePlaceholderIsNotSwallowedAsAHoconReference() {
    // Outside quotes HOCON reads ${date} as a reference to a key named date (or, failing that, an
    // environment variable): it must stay the placeholder, whichever way the path is written.
    File quoted = Files.write(dir, "quoted.conf", "personas.input.events.path = \"/data/events/dt=${date}\"").toFile();
    File concatenated = Files.write(dir, "concat.conf", "personas.input.events.path = \"/data/events/dt=\"${date}").toFile();
    File bare = Files.write(dir, "bare.conf", "personas.input.events.path = /data/events/${date}").toFile();
    assertEquals("/data/events/dt=${date}", ConfigLoader.load(concatenated).events().path());
    assertEquals(ConfigLoader.load(quoted).hash(), ConfigLoader.load(concatenated).hash(), "one configuration");
    assertEquals("/data/events/${date}", ConfigLoader.load(bare).events().path());
    assertEquals("/data/events/2024-03-10", ConfigLoader.load(bare).forDate(D).events().path());
  }

  @Test
  void anUnknownPlaceholderInAnInputPathIsAConfigErrorNamingTheKeyAndTheFile() {
    ConfigException quoted = loadError("personas.input.events.path = \"/data/events/dt=${ds}\"");
    assertTrue(quoted.getMessage().contains("personas.input.events.path") && quoted.getMessage().contains("${ds}")
        && quoted.getMessage().contains("only placeholder") && quoted.getMessage().contains("bad.conf"),
        quoted.getMessage());
    ConfigException unclosed = loadError("personas.input.profiles.path = \"/data/${date\"");
    assertTrue(unclosed.getMessage().contains("personas.input.profiles.path") && unclosed.getMessage().contains("${date"),
        unclosed.getMessage());
    ConfigException unquoted = loadError("personas.input.events.path = \"/data/events/dt=\"${ds}");
    assertTrue(unquoted.getMessage().contains("${ds}") && unquoted.getMessage().contains("only placeholder"),
        unquoted.getMessage());
  }

  @Test
  void theSuppressionListAndTheOutputTakeNoPlaceholder() {
    ConfigException list = loadError("personas.privacy.suppression_list = \"/lists/optout/dt=${date}\"");
    assertTrue(list.getMessage().contains("personas.privacy.suppression_list")
        && list.getMessage().contains("current list"), list.getMessage());
    ConfigException out = loadError("personas.output.path = \"/marts/${date}\"");
    assertTrue(out.getMessage().contains("personas.output.path") && out.getMessage().contains("every date"),
        out.getMessage());
  }

  @Test
  void commandLinePathsAreCheckedAsTheConfigFileIsNamingTheOption() {
    PersonasConfig c = ConfigLoader.defaults().withPaths("/data/events/dt=${date}", "", null);
    assertEquals("/data/events/dt=2024-03-10", c.forDate(D).events().path());
    ConfigException events = assertThrows(ConfigException.class,
        () -> ConfigLoader.defaults().withPaths("/data/{{ ds }}/${ds}", null, null));
    assertTrue(events.getMessage().startsWith("--events") && events.getMessage().contains("${ds}"), events.getMessage());
    ConfigException output = assertThrows(ConfigException.class,
        () -> ConfigLoader.defaults().withPaths(null, null, "/marts/${date}"));
    assertTrue(output.getMessage().startsWith("--output"), output.getMessage());
  }

  @Test
  void onlyTheEventsSourceCanHoldLaterDaysAndItSurvivesTheCommandLineAndTheDate() {
    assertTrue(!ConfigLoader.defaults().events().holdsLaterDays(), "off by default: rows after D are a clock problem");
    File f = Files.write(dir, "later.conf", "personas.input.events.holds_later_days = true").toFile();
    PersonasConfig c = ConfigLoader.load(f).withPaths("/data/all-events", null, null).forDate(D);
    assertTrue(c.events().holdsLaterDays() && !c.profiles().holdsLaterDays());
    ConfigException profiles = loadError("personas.input.profiles.holds_later_days = true");
    assertTrue(profiles.getMessage().contains("personas.input.profiles.holds_later_days"), profiles.getMessage());
  }
}
