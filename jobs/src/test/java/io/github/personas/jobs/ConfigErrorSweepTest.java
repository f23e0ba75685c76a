package io.github.personas.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.jobs.CliTesting.Result;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every kind of configuration error ends the run with exit code 2 and a message naming the
 * file, the key and (for a rule) the rule, before any table is written.
 */
class ConfigErrorSweepTest {

  @TempDir
  static Path dir;

  private static Path events;

  /**
   * One broken configuration.
   *
   * @param name    what is wrong
   * @param conf    the lines of the user's file, on top of a small CSV input
   * @param mention fragments the error must contain besides the file name: the key, the rule
   */
  record Case(String name, List<String> conf, List<String> mention) {
    @Override
    public String toString() {
      return name;
    }
  }

  private static Case c(String name, String conf, String... mention) {
    return new Case(name, List.of(conf), List.of(mention));
  }

  static Stream<Case> errors() {
    return Stream.of(
        c("unknown key", "personas.quality.max_quarantin_share = 0.3", "personas.quality.max_quarantin_share", ":3"),
        c("unknown classifier", "personas.predict.propensity.classifier = forest",
            "personas.predict.propensity.classifier", "forest", "gbt, logistic"),
        c("too few training users for a model", "personas.predict.propensity.max_training_users = 500",
            "personas.predict.propensity.max_training_users", "at least 1000"),
        c("propensity input that is not a number",
            "personas.predict.propensity.features = [recency_days, country]",
            "personas.predict.propensity.features", "country is string"),
        c("propensity input that is not a column", "personas.predict.propensity.features = [recency_dayz]",
            "personas.predict.propensity.features", "recency_dayz is not a column"),
        c("unknown section", "personas.segmentation { k = 3 }", "personas.segmentation.k"),
        c("string for a number", "personas.personas.k_min = three", "personas.personas.k_min", "NUMBER"),
        c("number for a list", "personas.features.session_windows = 7", "personas.features.session_windows", "LIST"),
        c("scalar for a section", "personas.quality = strict", "personas.quality", "OBJECT"),
        c("list for a string", "personas.rfm.no_purchase_segment = [a, b]", "personas.rfm.no_purchase_segment",
            "STRING"),
        c("unknown key in a rule", "personas.rfm.segments = [ { name = All, when = \"true\", colour = red } ]",
            "personas.rfm.segments[0]", "colour"),
        c("share out of range", "personas.quality.max_future_share = 5", "personas.quality.max_future_share", "[0, 1]"),
        c("revenue limit not positive", "personas.quality.max_revenue_per_event = 0",
            "personas.quality.max_revenue_per_event", "positive"),
        c("earliest event date that is not a date", "personas.quality.earliest_event_date = \"01/01/2000\"",
            "personas.quality.earliest_event_date", "YYYY-MM-DD", "01/01/2000"),
        c("earliest event date in 1970", "personas.quality.earliest_event_date = \"1970-01-01\"",
            "personas.quality.earliest_event_date", "1971-01-01"),
        c("days after the latest event negative", "personas.quality.max_days_after_latest_event = -1",
            "personas.quality.max_days_after_latest_event", "at least 0"),
        c("unknown transform", "personas.personas.features = [ { name = f, expr = frequency, transform = cube } ]",
            "personas.personas.features[0] 'f'", "cube"),
        c("RFM rule that does not parse", "personas.rfm.segments = [ { name = All, when = \"r_score >>= 1\" } ]",
            "personas.rfm.segments[0] 'All'", "r_score >>= 1", "PARSE_SYNTAX_ERROR"),
        c("RFM rule naming a missing column", "personas.rfm.segments = [ { name = All, when = \"x_score >= 1\" } ]",
            "personas.rfm.segments[0] 'All'", "x_score"),
        c("RFM rule without a condition", "personas.rfm.segments = [ { name = All } ]", "personas.rfm.segments[0]",
            "when"),
        c("lifecycle rule cut short", "personas.lifecycle.stages = [ { name = Everyone, when = \"true AND\" } ]",
            "personas.lifecycle.stages[0] 'Everyone'", "true AND"),
        c("lifecycle rule naming a missing column",
            "personas.lifecycle.stages = [ { name = Spenders, when = \"spend_total > 0\" } ]",
            "personas.lifecycle.stages[0] 'Spenders'", "spend_total"),
        c("clustering input naming a missing column",
            "personas.personas.features = " + defaultFeatures().replace("\"expr\":\"frequency\"", "\"expr\":\"frequncy\""),
            "personas.personas.features[0] 'frequency'", "frequncy"),
        c("persona noun naming a missing column",
            "personas.personas.naming.nouns = [ { name = buyers, when = \"nobody_share > 0.5\" } ]",
            "personas.personas.naming.nouns[0] 'buyers'", "nobody_share"),
        c("playbook rule that does not parse",
            "personas.personas.playbook = [ { when = \"buyer_share >\", goal = Grow, channels = [email], strategy = s } ]",
            "personas.personas.playbook[0] 'Grow'", "buyer_share >"),
        c("playbook channel that no channel defines",
            "personas.personas.playbook = [ { when = \"true\", goal = Grow, channels = [fax], strategy = s } ]",
            "personas.personas.playbook[0]", "channel 'fax'"),
        c("rule persona whose when is not a condition",
            "personas.personas.rules = [ { name = Odd, when = \"sessions_30d\" } ]",
            "personas.personas.rules[0] 'Odd'", "not a condition"),
        c("clustering input that describes itself with an aggregate",
            "personas.personas.features = " + defaultFeatures().replace("\"expr\":\"frequency\"",
                "\"expr\":\"frequency\",\"describe\":\"max(frequency)\""),
            "personas.personas.features[0] 'frequency' describe", "max(frequency)"),
        c("descriptor that shadows a profile column",
            "personas.personas.naming.descriptors = [ { name = kind, expr = \"count(*)\" } ]",
            "personas.naming.descriptors 'kind'", "dominant_lifecycle_stage"),
        c("names without words",
            "personas.personas.naming.max_adjectives = 0",
            "personas.personas.naming.max_adjectives", "[1, 3]"),
        c("category word without the category",
            "personas.personas.category_inputs.word = \"foodie\"",
            "personas.personas.category_inputs.word", "%s once"),
        c("category inputs weighing nothing",
            "personas.personas.category_inputs.weight = 0",
            "personas.personas.category_inputs.weight", "(0, 10]"),
        c("a configured input named like a category input",
            "personas.personas.features += { name = category_food, expr = frequency }",
            "personas.personas.features 'category_food'", "category_inputs"),
        c("a descriptor named like a category input",
            "personas.personas.naming.descriptors += { name = category_food, expr = \"avg(1)\" }",
            "personas.personas.naming.descriptors 'category_food'", "category_inputs"),
        c("rule persona whose condition does not parse",
            "personas.personas.rules = [ { name = Odd, when = \"frequency >\" } ]",
            "personas.personas.rules[0] 'Odd' when", "frequency >"),
        c("report dimension naming a missing column", "personas.report.dimensions = [ rfm_segment, shoe_size ]",
            "personas.report.dimensions", "shoe_size"),
        c("input filter that does not parse", "personas.input.events.filter = \"event_name ===\"",
            "personas.input.events.filter", "event_name ==="),
        c("input mapping naming a missing column", "personas.input.events.columns { user_id = customer_no }",
            "personas.input.events.columns.user_id", "customer_no"),
        c("unknown input format", "personas.input.events.format = xlsx", "personas.input.events.format", "xlsx"),
        c("time zone that does not exist", "personas.run.timezone = Mars/Olympus", "personas.run.timezone",
            "Mars/Olympus"));
  }

  /** The shipped clustering inputs as HOCON, so one can be broken and the naming rules still match. */
  private static String defaultFeatures() {
    return com.typesafe.config.ConfigFactory.parseResources(
            io.github.personas.pipeline.config.ConfigLoader.DEFAULTS_RESOURCE)
        .getList("personas.personas.features").render(com.typesafe.config.ConfigRenderOptions.concise());
  }

  @BeforeAll
  static void input() throws Exception {
    SparkTestSession.get();
    events = dir.resolve("events.csv");
    Files.writeString(events, "user_id,event_time,event_name\nu1,2024-03-09 10:00:00,session_start\n",
        StandardCharsets.UTF_8);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("errors")
  void exitsWithTwoNamingFileKeyAndRule(Case c) throws Exception {
    Path conf = dir.resolve(c.name().replace(' ', '-') + ".conf");
    // Two lines of input setup first, so the broken line is line 3 of the file.
    Files.write(conf, Stream.concat(Stream.of("personas.input.events.format = csv", "personas.input.profiles.path = \"\""),
        c.conf().stream()).toList(), StandardCharsets.UTF_8);
    Path out = dir.resolve("out-" + c.name().replace(' ', '-'));
    Result r = CliTesting.call("run", "--config", conf.toString(), "--events", events.toString(),
        "--date", "2024-03-10", "--output", out.toString());
    assertEquals(2, r.code(), r.out() + r.err());
    assertTrue(r.err().contains(conf.toString()), "names the file: " + r.err());
    for (String m : c.mention()) {
      assertTrue(r.err().contains(m), "names " + m + ": " + r.err());
    }
    assertFalse(r.err().contains("\tat "), "a message, not a stack trace: " + r.err());
    assertFalse(Files.exists(out.resolve("segments")), "nothing is published");
  }
}
