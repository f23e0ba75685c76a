package io.github.personas.pipeline.features;

import static io.github.personas.pipeline.testing.ContractRows.event;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.config.ConfigLoader;
import io.github.personas.pipeline.engine.Caches;
import io.github.personas.pipeline.io.Contract;
import io.github.personas.pipeline.testing.ContractRows;
import io.github.personas.pipeline.testing.FeatureRows;
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
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The per-user aggregates, folded in one pass, give the features the plain SQL definition gives
 * ({@link SqlReferenceFeatures}), whatever the order and partitioning of the events and however
 * many event ids repeat.
 */
class UserAggregatesTest {

  private final SparkSession spark = SparkTestSession.get();
  private final Caches caches = new Caches();

  @AfterEach
  void releaseCaches() {
    caches.close();
  }

  /** Features by user and column, doubles rounded to 9 significant digits (sums run in another order). */
  private static Map<String, Map<String, Object>> byUser(Dataset<Row> features) {
    Map<String, Map<String, Object>> out = new TreeMap<>();
    for (Row r : features.collectAsList()) {
      Map<String, Object> cols = new TreeMap<>();
      for (String c : features.columns()) {
        Object v = r.getAs(c);
        if (v instanceof Double d) {
          v = d.isNaN() || d.isInfinite() ? d : new java.math.BigDecimal(d).round(new java.math.MathContext(9)).doubleValue();
        } else if (v instanceof scala.collection.Map<?, ?> m) {
          v = new TreeMap<>(scala.jdk.javaapi.CollectionConverters.asJava(m)).toString();
        } else if (v instanceof scala.collection.Seq<?> s) {
          v = scala.jdk.javaapi.CollectionConverters.asJava(s).toString();
        }
        cols.put(c, v);
      }
      out.put(r.getAs("user_id"), cols);
    }
    return out;
  }

  private static void assertSameFeatures(Dataset<Row> expected, Dataset<Row> actual) {
    assertEquals(List.of(expected.columns()), List.of(actual.columns()), "same columns in the same order");
    assertEquals(expected.schema(), actual.schema(), "same types");
    Map<String, Map<String, Object>> e = byUser(expected);
    Map<String, Map<String, Object>> a = byUser(actual);
    assertEquals(e.keySet(), a.keySet(), "same users");
    List<String> diffs = new ArrayList<>();
    e.forEach((user, cols) -> cols.forEach((c, v) -> {
      Object x = a.get(user).get(c);
      if (!java.util.Objects.equals(v, x)) {
        diffs.add(user + "." + c + ": expected " + v + ", got " + x);
      }
    }));
    assertTrue(diffs.isEmpty(), diffs.size() + " differences, first: " + diffs.subList(0, Math.min(10, diffs.size())));
  }

  /** The fold's features and the SQL definition's, from the same accepted events. */
  private void assertFoldMatchesSql(Dataset<Row> events, Dataset<Row> profiles, LocalDate d, String tz) {
    FeatureBuilder builder = new FeatureBuilder(d, tz, List.of(7, 30, 90));
    Dataset<Row> reference = builder.derive(new SqlReferenceFeatures(d, tz, List.of(7, 30, 90)).perUser(events),
        profiles);
    assertSameFeatures(reference, builder.apply(events, profiles, caches));
  }

  @Test
  void sampleDataSpreadOverPartitionsGivesTheFeaturesOfTheSqlDefinition() {
    ContractValidator validator = new ContractValidator(spark, LocalDate.parse("2026-11-22"), caches);
    var config = ConfigLoader.defaults();
    Dataset<Row> events = validator.events(config.events().withPath("../sample-data/events")).accepted();
    Dataset<Row> profiles = validator.profiles(config.profiles().withPath("../sample-data/profiles")).accepted();
    // Round-robin into 5 partitions: every user's events are folded in several states and merged.
    Dataset<Row> spread = events.repartition(5);
    assertTrue(events.count() > 100_000, "the sample has about 138k events");
    assertFoldMatchesSql(spread, profiles, LocalDate.parse("2026-11-22"), "Europe/Berlin");
  }

  @Test
  void foldingInTheValidationPassGivesTheFeaturesOfTheAcceptedEvents() {
    LocalDate d = LocalDate.parse("2026-11-22");
    var config = ConfigLoader.defaults();
    FeatureBuilder builder = new FeatureBuilder(d, "Europe/Berlin", List.of(7, 30, 90));
    ContractValidator validator = new ContractValidator(spark, d, caches);
    ValidationResult folded = validator.events(config.events().withPath("../sample-data/events"), builder.fold(spark));
    ValidationResult accepted = validator.events(config.events().withPath("../sample-data/events"));
    Dataset<Row> profiles = validator.profiles(config.profiles().withPath("../sample-data/profiles")).accepted();
    assertEquals(byUser(builder.apply(accepted.accepted(), profiles, caches)),
        byUser(builder.fromFolded(folded.folded(), profiles, caches)));
  }

  /**
   * Sample events written as two files, plus a third that repeats 1 % of them: exact copies
   * (an SDK sending again), copies with another time (earlier ones win), copies in the first
   * file itself, and ids reused by another user.
   */
  private Path eventsWithRepeatedIds(Path dir) {
    Dataset<Row> sample = spark.read().parquet("../sample-data/events").orderBy("event_id");
    Path root = dir.resolve("events");
    Dataset<Row> a = sample.where("user_id < 'u0000500'");
    Dataset<Row> b = sample.where("user_id >= 'u0000500'");
    Dataset<Row> pick = sample.where("pmod(xxhash64(event_id), 100) = 7");
    // Exact copies in a file of their own, and twice over for some.
    Dataset<Row> exact = pick.where("pmod(xxhash64(event_id, 1), 3) = 0");
    Dataset<Row> twice = exact.where("pmod(xxhash64(event_id, 2), 2) = 0");
    // Copies an hour earlier, with another revenue: these replace the original.
    Dataset<Row> earlier = pick.where("pmod(xxhash64(event_id, 1), 3) = 1")
        .withColumn("event_time", functions.expr("event_time - INTERVAL 1 HOUR"))
        .withColumn("revenue", functions.expr("CASE WHEN revenue IS NOT NULL THEN revenue + 1 END"));
    // The same id under another user, a day later: dropped, the original is earlier.
    Dataset<Row> otherUser = pick.where("pmod(xxhash64(event_id, 1), 3) = 2")
        .withColumn("user_id", functions.expr("concat(user_id, '-other')"))
        .withColumn("event_time", functions.expr("event_time + INTERVAL 1 DAY"));
    a.unionByName(exact).coalesce(1).write().parquet(root.resolve("a").toString());
    b.coalesce(1).write().parquet(root.resolve("b").toString());
    exact.unionByName(twice).unionByName(earlier).unionByName(otherUser).coalesce(1).write()
        .parquet(root.resolve("c").toString());
    return root;
  }

  @Test
  void repeatedEventIdsAreDroppedInThePassAsTheSqlDefinitionDropsThem(@TempDir Path dir) {
    LocalDate d = LocalDate.parse("2026-11-22");
    Path root = eventsWithRepeatedIds(dir);
    String glob = root + "/*";
    FeatureBuilder builder = new FeatureBuilder(d, "UTC", List.of(7, 30, 90));
    var source = ConfigLoader.defaults().events().withPath(glob);
    ValidationResult pass = new ContractValidator(spark, d, caches).events(source, builder.fold(spark));
    Dataset<Row> none = ContractRows.frame(spark, Contract.PROFILES, List.of());

    // The rule in plain SQL: of the accepted rows of one id (events after the run date are
    // quarantined first), the earliest, then the first file, then the first in it.
    Dataset<Row> raw = spark.read().parquet(glob).where("event_time < TIMESTAMP '2026-11-23 00:00:00'")
        .withColumn("_file", functions.col("_metadata.file_path"))
        .withColumn("_row", functions.col("_metadata.row_index"));
    raw.createOrReplaceTempView("repeated_events");
    Dataset<Row> kept = spark.sql("SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY event_id"
        + " ORDER BY event_time, _file, _row) AS _rank FROM repeated_events) WHERE event_id IS NULL OR _rank = 1")
        .drop("_file", "_row", "_rank");
    long copies = raw.count() - kept.count();
    assertTrue(copies > 1_000, "the data repeats over a thousand ids: " + copies);
    assertEquals(copies, pass.counts().duplicates(), "duplicates counted as SQL drops them");
    assertTrue(pass.counts().reconciles(), pass.counts().toString());

    Dataset<Row> reference = builder.derive(new SqlReferenceFeatures(d, "UTC").perUser(kept), none);
    assertSameFeatures(reference, builder.fromFolded(pass.folded(), none, caches));
    // The accepted rows are the same rows, too.
    Dataset<Row> accepted = new ContractValidator(spark, d, caches).events(source).accepted();
    Dataset<Row> keptRows = kept.selectExpr(accepted.columns());
    assertEquals(0, accepted.exceptAll(keptRows).count() + keptRows.exceptAll(accepted).count());
    spark.catalog().dropTempView("repeated_events");
  }

  @Test
  void exactCopiesChangeNoFeatureAtAll(@TempDir Path dir) {
    // Copies of the same row, in the same file and in another one, leave the features exactly
    // as they are without them: the row kept is folded where it was read, the others never are.
    LocalDate d = LocalDate.parse("2026-11-22");
    Dataset<Row> sample = spark.read().parquet("../sample-data/events");
    Dataset<Row> copies = sample.where("pmod(xxhash64(event_id), 50) = 3");
    sample.coalesce(1).write().parquet(dir.resolve("clean").toString());
    sample.coalesce(1).write().parquet(dir.resolve("copied/a").toString());
    copies.coalesce(1).write().parquet(dir.resolve("copied/b").toString());
    FeatureBuilder builder = new FeatureBuilder(d, "UTC", List.of(7, 30, 90));
    var source = ConfigLoader.defaults().events();
    ContractValidator v = new ContractValidator(spark, d, caches);
    Dataset<Row> none = ContractRows.frame(spark, Contract.PROFILES, List.of());
    Dataset<Row> clean = builder.fromFolded(v.events(source.withPath(dir.resolve("clean").toString()),
        builder.fold(spark)).folded(), none, caches);
    ValidationResult repeated = v.events(source.withPath(dir.resolve("copied") + "/*"), builder.fold(spark));
    assertEquals(copies.count(), repeated.counts().duplicates());
    Dataset<Row> copied = builder.fromFolded(repeated.folded(), none, caches);
    assertEquals(0, FeatureRows.setComparable(clean).exceptAll(FeatureRows.setComparable(copied)).count()
        + FeatureRows.setComparable(copied).exceptAll(FeatureRows.setComparable(clean)).count(), "bit for bit the same");
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
    Dataset<Row> profiles = ContractRows.frame(spark, Contract.PROFILES, List.of());
    LocalDate d = LocalDate.parse("2024-03-10");
    // One partition, and every user's events spread over three (a state per user and partition, merged).
    Dataset<Row> one = ContractRows.frame(spark, Contract.EVENTS, rows).coalesce(1);
    Dataset<Row> three = ContractRows.frame(spark, Contract.EVENTS, rows).repartition(3);
    assertFoldMatchesSql(one, profiles, d, "UTC");
    assertFoldMatchesSql(three, profiles, d, "America/New_York");
    // Dates are read in the session time zone, as to_date reads them.
    String zone = spark.conf().get("spark.sql.session.timeZone");
    try {
      spark.conf().set("spark.sql.session.timeZone", "Asia/Kolkata");
      assertFoldMatchesSql(three, profiles, d, "America/New_York");
    } finally {
      spark.conf().set("spark.sql.session.timeZone", zone);
    }
  }
}
