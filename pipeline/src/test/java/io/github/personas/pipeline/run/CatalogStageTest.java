package io.github.personas.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.io.OutputWriter;
import io.github.personas.pipeline.testing.OutputSchemas;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/** The output tables in Spark's session catalog (personas.output.catalog): created, added to, read back. */
class CatalogStageTest extends StageTestBase {

  private final SparkSession spark = SparkTestSession.get();

  /** The tables a run of the fixture publishes: model_metrics needs 500 training users, the fixture has 300. */
  private static final List<String> PUBLISHED = List.of("quarantine", "features", "segments", "personas",
      "k_selection", "segment_kpis", "holdout_uplift", "segment_transitions", "segment_history", "predictions");

  /** A database in this test's folder, so no spark-warehouse folder is left where the tests run. */
  private void database(String name) {
    spark.sql("CREATE DATABASE " + name + " LOCATION '" + dir.resolve("warehouse").toUri() + "'");
  }

  private NightlyRun run(LocalDate date, String... extra) {
    return new NightlyRun(spark, RunFixture.config(data, dir.resolve("out"), extra), date);
  }

  private List<String> partitions(String table) {
    return spark.sql("SHOW PARTITIONS " + table).collectAsList().stream().map(r -> r.getString(0)).sorted().toList();
  }

  /** Rows per date of a catalog table, read with spark.table. */
  private Map<String, Long> rowsPerDate(String table) {
    Map<String, Long> rows = new LinkedHashMap<>();
    for (Row r : spark.table(table).groupBy("dt").count().orderBy("dt").collectAsList()) {
      rows.put(r.get(0).toString(), r.getLong(1));
    }
    return rows;
  }

  private long rowsOnDisk(String table, LocalDate date) {
    return spark.read().parquet(dir.resolve("out").resolve(table).resolve("dt=" + date).toString()).count();
  }

  @Test
  void afterTwoDatesEveryPublishedTableIsReadBackWithSparkTableWithBothPartitions() throws Exception {
    database("personas_two_dates");
    LocalDate before = RunFixture.D.minusDays(1);
    // One input for both dates: the earlier date's run skips the later day's events.
    String[] conf = {"personas.output.catalog = personas_two_dates", "personas.input.events.holds_later_days = true"};
    run(before, conf).execute(EnumSet.allOf(Stage.class));
    run(RunFixture.D, conf).execute(EnumSet.allOf(Stage.class));

    List<String> registered = OutputWriter.TABLES.stream()
        .filter(t -> spark.catalog().tableExists("personas_two_dates", t)).toList();
    assertEquals(PUBLISHED, registered);
    for (String table : PUBLISHED) {
      String name = "personas_two_dates." + table;
      assertEquals(List.of("dt=" + before, "dt=" + RunFixture.D), partitions(name), name);
      Map<String, Long> onDisk = new LinkedHashMap<>();
      for (LocalDate d : List.of(before, RunFixture.D)) {
        long n = rowsOnDisk(table, d);
        if (n > 0) {
          onDisk.put(d.toString(), n);
        }
      }
      assertEquals(onDisk, rowsPerDate(name), name + ": spark.table reads every row of both dates");
    }
    assertEquals(2, rowsPerDate("personas_two_dates.segments").size(), "segments has rows on both dates");
    assertEquals(300L, rowsPerDate("personas_two_dates.features").get(RunFixture.D.toString()));
    assertEquals("date", spark.table("personas_two_dates.segments").schema().apply("dt").dataType().typeName());

    // docs/bi.md's Spark DDL, run over the same output, gives the tables the run registered.
    spark.sql("CREATE DATABASE docs_ddl LOCATION '" + dir.resolve("docs-warehouse").toUri() + "'");
    for (String statement : OutputSchemas.statements(Files.readString(OutputSchemas.BI_GUIDE), "Spark")) {
      java.util.regex.Matcher table = java.util.regex.Pattern.compile("personas\\.(\\w+)").matcher(statement);
      if (table.find() && !PUBLISHED.contains(table.group(1))) {
        continue; // a table this output does not have (model_metrics: 300 users train no model) has no folder to recover
      }
      spark.sql(statement.replace("s3a://marts/personas", dir.resolve("out").toUri().toString().replaceFirst("/$", ""))
          .replace(" personas.", " docs_ddl.").replace("EXISTS personas", "EXISTS docs_ddl"));
    }
    for (String table : PUBLISHED) {
      assertEquals(columns(spark.table("personas_two_dates." + table).schema()),
          columns(spark.table("docs_ddl." + table).schema()), table);
      assertEquals(rowsPerDate("personas_two_dates." + table), rowsPerDate("docs_ddl." + table), table);
    }
  }

  /** Name and type of every column, nullability aside (the catalog keeps none for Parquet tables). */
  private static List<String> columns(org.apache.spark.sql.types.StructType schema) {
    return java.util.Arrays.stream(schema.fields()).map(f -> f.name() + " " + f.dataType().sql()).toList();
  }

  @Test
  void aRerunOfADateAddsNothingTwiceAndDropsThePartitionItWithdrew() {
    database("personas_rerun");
    run(RunFixture.D, "personas.output.catalog = personas_rerun").execute(EnumSet.allOf(Stage.class));
    Map<String, Long> segmentsBefore = rowsPerDate("personas_rerun.segments");
    assertEquals(List.of("dt=" + RunFixture.D), partitions("personas_rerun.predictions"));

    // The same date again, without the PREDICT stage's models: its predictions are withdrawn.
    run(RunFixture.D, "personas.output.catalog = personas_rerun", "personas.predict.enabled = false")
        .execute(EnumSet.allOf(Stage.class));
    assertFalse(Files.exists(dir.resolve("out/predictions/dt=" + RunFixture.D)));
    assertEquals(List.of(), partitions("personas_rerun.predictions"), "the withdrawn date is gone from the catalog");
    assertEquals(0L, spark.table("personas_rerun.predictions").count());
    for (String table : PUBLISHED.subList(0, PUBLISHED.size() - 1)) {
      assertEquals(List.of("dt=" + RunFixture.D), partitions("personas_rerun." + table), table);
    }
    assertEquals(segmentsBefore, rowsPerDate("personas_rerun.segments"));
  }

  @Test
  void aTableOfTheDatabaseOverAnotherFolderStopsTheRunBeforeItReadsAnything() throws Exception {
    database("personas_taken");
    Path elsewhere = Files.createDirectories(dir.resolve("elsewhere/segments"));
    spark.sql("CREATE TABLE personas_taken.segments (user_id STRING) USING parquet LOCATION '" + elsewhere.toUri()
        + "'");
    ConfigException e = assertThrows(ConfigException.class,
        () -> run(RunFixture.D, "personas.output.catalog = personas_taken").execute(EnumSet.allOf(Stage.class)));
    assertTrue(e.getMessage().contains("personas.output.catalog = personas_taken: the table personas_taken.segments"
        + " exists over") && e.getMessage().contains(elsewhere.toString()), e.getMessage());
    assertFalse(Files.exists(dir.resolve("out/segments")), "nothing is published");
  }

  @Test
  void aCatalogThatRefusesTheRegistrationFailsTheRunAfterThePublishAndSaysARerunRegisters() throws Exception {
    database("personas_refused");
    // Over the right folder, but not partitioned: the catalog refuses to add a dt partition to it.
    Path segments = Files.createDirectories(dir.resolve("out/segments"));
    spark.sql("CREATE TABLE personas_refused.segments (user_id STRING) USING parquet LOCATION '" + segments.toUri()
        + "'");
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> run(RunFixture.D, "personas.output.catalog = personas_refused").execute(EnumSet.of(Stage.VALIDATE,
            Stage.FEATURES, Stage.SEGMENT)));
    assertTrue(e.getMessage().startsWith("The tables of " + RunFixture.D + " are published under ")
        && e.getMessage().contains("registering them in the catalog database personas_refused"
            + " (personas.output.catalog) failed: ")
        && e.getMessage().contains("Rerunning the date registers them"), e.getMessage());
    assertTrue(Files.exists(segments.resolve("dt=" + RunFixture.D + "/_SUCCESS")), "the run's tables are published");
    assertEquals(List.of("dt=" + RunFixture.D), partitions("personas_refused.features"),
        "the tables before the refused one are registered");
  }

  @Test
  void withoutACatalogNothingIsRegistered() {
    List<String> before = databasesAndTables();
    run(RunFixture.D).execute(EnumSet.of(Stage.VALIDATE));
    assertTrue(Files.exists(dir.resolve("out/quarantine/dt=" + RunFixture.D + "/_SUCCESS")));
    assertEquals(before, databasesAndTables());
  }

  private List<String> databasesAndTables() {
    return spark.sql("SHOW DATABASES").collectAsList().stream().map(r -> r.getString(0))
        .flatMap(db -> java.util.stream.Stream.concat(java.util.stream.Stream.of(db),
            spark.sql("SHOW TABLES IN " + db).collectAsList().stream().map(r -> db + "." + r.getString(1))))
        .sorted().toList();
  }
}
