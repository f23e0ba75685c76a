package io.github.personas.pipeline.features;

import static io.github.personas.pipeline.testing.ContractRows.event;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.config.ConfigLoader;
import io.github.personas.pipeline.io.Contract;
import io.github.personas.pipeline.testing.ContractRows;
import io.github.personas.pipeline.testing.SparkTestSession;
import io.github.personas.pipeline.validate.ContractValidator;
import io.github.personas.pipeline.validate.ValidationResult;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The one-pass aggregation gives the features the plain SQL definition gives
 * ({@link SqlReferenceFeatures}), whatever the order and partitioning of the events.
 */
class EventAggregatesTest {

  private final SparkSession spark = SparkTestSession.get();

  /** Features by user and column, doubles rounded to 9 significant digits (sums run in another order). */
  private static Map<String, Map<String, Object>> byUser(Dataset<Row> features) {
    Map<String, Map<String, Object>> out = new TreeMap<>();
    for (Row r : features.collectAsList()) {
      Map<String, Object> cols = new TreeMap<>();
      for (String c : features.columns()) {
        Object v = r.getAs(c);
        if (v instanceof Double d) {
          v = d.isNaN() || d.isInfinite() ? d : new java.math.BigDecimal(d).round(new java.math.MathContext(9)).doubleValue();
        } else if (v instanceof scala.collection.Seq<?> s) {
          v = scala.jdk.javaapi.CollectionConverters.asJava(s).toString();
        }
        cols.put(c, v);
      }
      out.put(r.getAs("user_id"), cols);
    }
    return out;
  }

  private void assertSameFeatures(Dataset<Row> events, Dataset<Row> profiles, LocalDate d, String tz, int flushEvery) {
    FeatureBuilder builder = new FeatureBuilder(d, tz, List.of(7, 30, 90), flushEvery);
    Dataset<Row> fast = builder.apply(events, profiles);
    Dataset<Row> reference = builder.derive(new SqlReferenceFeatures(d, tz, List.of(7, 30, 90)).perUser(events), profiles);
    assertEquals(List.of(reference.columns()), List.of(fast.columns()), "same columns in the same order");
    assertEquals(reference.schema(), fast.schema(), "same types");
    Map<String, Map<String, Object>> expected = byUser(reference);
    Map<String, Map<String, Object>> actual = byUser(fast);
    assertEquals(expected.keySet(), actual.keySet(), "same users");
    List<String> diffs = new ArrayList<>();
    expected.forEach((user, cols) -> cols.forEach((c, v) -> {
      Object a = actual.get(user).get(c);
      if (!java.util.Objects.equals(v, a)) {
        diffs.add(user + "." + c + ": expected " + v + ", got " + a);
      }
    }));
    assertTrue(diffs.isEmpty(), diffs.size() + " differences, first: " + diffs.subList(0, Math.min(10, diffs.size())));
  }

  @Test
  void sampleDataSpreadOverPartitionsGivesTheFeaturesOfTheSqlDefinition() {
    ContractValidator validator = new ContractValidator(spark, LocalDate.parse("2026-11-22"));
    var config = ConfigLoader.defaults();
    Dataset<Row> events = validator.events(config.events().withPath("../sample-data/events")).accepted();
    Dataset<Row> profiles = validator.profiles(config.profiles().withPath("../sample-data/profiles")).accepted();
    // Round-robin into 5 partitions, flushing every 50 users: every user's events are folded in
    // several partial states and merged after the shuffle.
    Dataset<Row> spread = events.repartition(5);
    assertTrue(events.count() > 100_000, "the sample has about 138k events");
    assertSameFeatures(spread, profiles, LocalDate.parse("2026-11-22"), "Europe/Berlin", 50);
  }

  @Test
  void foldingInTheValidationPassGivesTheFeaturesOfTheAcceptedEvents() {
    LocalDate d = LocalDate.parse("2026-11-22");
    var config = ConfigLoader.defaults();
    FeatureBuilder builder = new FeatureBuilder(d, "Europe/Berlin", List.of(7, 30, 90), 50);
    ContractValidator validator = new ContractValidator(spark, d);
    ValidationResult events = validator.events(config.events().withPath("../sample-data/events"), builder.fold(spark));
    Dataset<Row> profiles = validator.profiles(config.profiles().withPath("../sample-data/profiles")).accepted();
    assertNotNull(events.folded(), "no duplicates in the sample: the folded states are exact");
    assertEquals(byUser(builder.apply(events.accepted(), profiles)), byUser(builder.applyFolded(events.folded(), profiles)));
    validator.releaseCaches();
  }

  @Test
  void repeatedEventIdsMakeTheValidatorDropTheFoldedStates(@TempDir Path dir) {
    LocalDate d = LocalDate.parse("2024-03-10");
    FeatureBuilder builder = new FeatureBuilder(d, "UTC");
    String once = dir.resolve("once").toString();
    String twice = dir.resolve("twice").toString();
    ContractRows.frame(spark, Contract.EVENTS, List.of(
        event("u1", "2024-03-01 10:00:00", "purchase").order("o1", 10).with("event_id", "e1"),
        event("u1", "2024-03-02 10:00:00", "session_start").with("event_id", "e2"))).write().parquet(once);
    ContractRows.frame(spark, Contract.EVENTS, List.of(
        event("u1", "2024-03-01 10:00:00", "purchase").order("o1", 10).with("event_id", "e1"),
        event("u1", "2024-03-01 10:00:00", "purchase").order("o1", 10).with("event_id", "e1"),
        event("u1", "2024-03-02 10:00:00", "session_start").with("event_id", "e2"))).write().parquet(twice);
    var source = ConfigLoader.defaults().events();
    ContractValidator validator = new ContractValidator(spark, d);
    ValidationResult clean = validator.events(source.withPath(once), builder.fold(spark));
    ValidationResult repeated = validator.events(source.withPath(twice), builder.fold(spark));
    assertNotNull(clean.folded());
    assertNull(repeated.folded(), "the states folded the duplicate too");
    assertEquals(1, repeated.counts().duplicates());
    Dataset<Row> none = ContractRows.frame(spark, Contract.PROFILES, List.of());
    assertEquals(byUser(builder.applyFolded(clean.folded(), none)), byUser(builder.apply(repeated.accepted(), none)),
        "the duplicate purchase line counts once either way");
    validator.releaseCaches();
  }

  @Test
  void edgeCasesAgreeWithTheSqlDefinition() {
    List<ContractRows> rows = List.of(
        // Lines of one order in and out of the 30 days, orders without ids, refunds with and
        // without revenue, a negative purchase.
        event("u1", "2024-03-01 10:00:00", "purchase").order("o1", 10).with("category", "food"),
        event("u1", "2024-01-01 10:00:00", "purchase").order("o1", 20).with("category", "toys"),
        event("u1", "2024-01-02 10:00:00", "purchase").order("o2", 5),
        event("u1", "2024-03-05 23:30:00", "purchase").with("revenue", 7.0),
        event("u1", "2024-01-05 03:30:00", "purchase").with("revenue", 3.0),
        event("u1", "2024-03-06 12:00:00", "refund").order("o1", 4),
        event("u1", "2024-03-07 12:00:00", "refund"),
        event("u1", "2024-03-08 12:00:00", "purchase").order("x", -2),
        // Sessions on the window edges, with and without durations; the same start twice.
        event("u1", "2024-03-04 09:00:00", "session_start").with("duration_s", 30.0),
        event("u1", "2024-03-04 09:00:00", "session_start"),
        event("u1", "2024-02-10 09:00:00", "session_start").with("duration_s", 90.0),
        event("u1", "2024-02-09 09:00:00", "session_start"),
        event("u1", "2024-01-10 09:00:00", "session_start").with("duration_s", 10.0),
        // Messaging, opt-out, install and uninstall, a later app event after the uninstall.
        event("u1", "2024-03-02 08:00:00", "message_received"),
        event("u1", "2024-03-02 08:01:00", "message_open"),
        event("u1", "2024-03-02 08:02:00", "message_click"),
        event("u1", "2024-03-03 08:00:00", "opt_out"),
        event("u1", "2023-12-01 08:00:00", "install"),
        event("u1", "2024-03-06 08:00:00", "uninstall"),
        event("u1", "2024-03-09 08:00:00", "screen_view"),
        // Category ties and a non-shopping category.
        event("u1", "2024-03-01 11:00:00", "product_view").with("category", "toys"),
        event("u1", "2024-03-01 11:01:00", "add_to_cart").with("category", "books"),
        event("u1", "2024-03-01 11:02:00", "screen_view").with("category", "ignored"),
        // Device and place change over time; a later event without them keeps the older values.
        event("u2", "2024-03-01 10:00:00", "session_start").with("platform", "ios").with("app_version", "2.10.0")
            .with("city", "Lyon"),
        event("u2", "2024-03-05 10:00:00", "session_start").with("platform", "android").with("app_version", "2.9.1"),
        event("u2", "2024-03-06 10:00:00", "screen_view"),
        event("u3", "2024-03-02 10:00:00", "session_start").with("platform", "ios").with("app_version", "2.10.0"),
        // Either side of New York's change to summer time (07:00 UTC on 2024-03-10) and of midnight UTC.
        event("u3", "2024-03-10 06:59:59", "purchase").order("n1", 3),
        event("u3", "2024-03-10 07:00:00", "purchase").order("n2", 3),
        event("u3", "2024-03-09 23:59:59", "screen_view"),
        event("u3", "2024-03-09 18:30:00", "screen_view"),
        // Only messages: no app event, no session.
        event("u4", "2024-03-02 10:00:00", "message_received"),
        // After the run date: left out.
        event("u4", "2024-03-11 00:00:00", "purchase").order("late", 100));
    Dataset<Row> events = ContractRows.frame(spark, Contract.EVENTS, rows).repartition(3);
    Dataset<Row> profiles = ContractRows.frame(spark, Contract.PROFILES, List.of());
    // A state per event (flush every user), and one per user and partition.
    assertSameFeatures(events, profiles, LocalDate.parse("2024-03-10"), "UTC", 1);
    assertSameFeatures(events, profiles, LocalDate.parse("2024-03-10"), "America/New_York", 1000);
    // Dates are read in the session time zone, as to_date reads them.
    String zone = spark.conf().get("spark.sql.session.timeZone");
    try {
      spark.conf().set("spark.sql.session.timeZone", "Asia/Kolkata");
      assertSameFeatures(events, profiles, LocalDate.parse("2024-03-10"), "America/New_York", 1000);
    } finally {
      spark.conf().set("spark.sql.session.timeZone", zone);
    }
  }
}
