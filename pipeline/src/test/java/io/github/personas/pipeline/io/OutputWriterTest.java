package io.github.personas.pipeline.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.testing.SparkTestSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutputWriterTest {

  private static final LocalDate D = LocalDate.parse("2024-03-10");
  private final SparkSession spark = SparkTestSession.get();

  @TempDir
  Path dir;

  @Test
  void aTableOfMoreRowsThanRowsPerFileIsWrittenAsMoreFilesAndReadsBackWhole() throws IOException {
    OutputWriter out = new OutputWriter(spark, dir.toString(), D, 1, 4);
    out.write("small", spark.range(0, 4, 1, 3).toDF(), 4);
    out.write("large", spark.range(0, 9, 1, 5).toDF(), 9);
    assertEquals(1, parquetFiles("small"), "4 rows at 4 per file: the configured single file");
    assertEquals(3, parquetFiles("large"), "9 rows at 4 per file: 3 files");
    assertEquals(36L, out.read("large").selectExpr("sum(id)").first().getLong(0), "every row written once");
  }

  @Test
  void filesPerPartitionIsTheLeastNumberOfFiles() {
    OutputWriter out = new OutputWriter(spark, dir.toString(), D, 3, 250_000);
    assertEquals(3, out.files(0));
    assertEquals(3, out.files(500_000));
    assertEquals(4, out.files(750_001));
  }

  @Test
  void zeroFilesOrRowsPerFileIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new OutputWriter(spark, dir.toString(), D, 0, 10));
    assertThrows(IllegalArgumentException.class, () -> new OutputWriter(spark, dir.toString(), D, 1, 0));
  }

  @Test
  void aTableIsThereForTheDateOnceStagedOrPublishedWithItsMarker() throws Exception {
    OutputWriter out = new OutputWriter(spark, dir.toString(), D, 1, 100);
    try (RunLock lock = out.lock()) {
      out.beginStaging(lock);
      assertFalse(out.has("a"), "nothing yet");
      stage(out, 1, "a");
      assertTrue(out.has("a"), "staged by this run");
      assertFalse(out.has("a", D), "not published yet");
      out.publish(null, java.util.List.of("a", OutputWriter.RUNS));
    }
    assertTrue(new OutputWriter(spark, dir.toString(), D, 1, 100).has("a"), "published, with _SUCCESS");
    // A partition without its marker is not complete: a reader must not take it.
    Files.createDirectories(dir.resolve("b").resolve("dt=" + D.minusDays(1)));
    assertFalse(new OutputWriter(spark, dir.toString(), D, 1, 100).has("b", D.minusDays(1)));
  }

  /** Stages tables {@code tables} holding the one value {@code run}, and a summary naming it. */
  private static void stage(OutputWriter out, long run, String... tables) {
    for (String t : tables) {
      out.write(t, SparkTestSession.get().range(run, run + 1).toDF(), 1);
    }
    out.writeText(OutputWriter.RUNS, "summary.json", "run " + run);
  }

  private long value(String table) {
    return spark.read().parquet(dir.resolve(table).resolve("dt=" + D).toString()).first().getLong(0);
  }

  @Test
  void aPublishThatStopsHalfWayIsCompletedByTheNextRunOfTheDateNeverLeftMixed() throws Exception {
    OutputWriter first = new OutputWriter(spark, dir.toString(), D, 1, 100);
    try (RunLock lock = first.lock()) {
      first.beginStaging(lock);
      stage(first, 1, "a", "b");
      first.publish(null, java.util.List.of("a", "b", "c", OutputWriter.RUNS));
    }
    // The second run's publish fails at table c: a file stands where c's folder must go.
    OutputWriter second = new OutputWriter(spark, dir.toString(), D, 1, 100);
    Path blocker = Files.writeString(dir.resolve("c"), "not a folder");
    try (RunLock lock = second.lock()) {
      second.beginStaging(lock);
      stage(second, 2, "a", "b", "c");
      assertThrows(java.io.UncheckedIOException.class,
          () -> second.publish(null, java.util.List.of("a", "b", "c", OutputWriter.RUNS)));
      second.abandon(); // what a failed run does; the publish it began is kept
    }
    assertEquals(2, value("a"), "published before the failure");
    assertFalse(Files.exists(dir.resolve("runs/dt=" + D)), "no summary, of either run, beside a date half changed");
    Files.delete(blocker);

    OutputWriter third = new OutputWriter(spark, dir.toString(), D, 1, 100);
    try (RunLock lock = third.lock()) {
      third.beginStaging(lock);
      third.abandon();
    }
    for (String t : java.util.List.of("a", "b", "c")) {
      assertEquals(2, value(t), t + " is the second run's");
      assertTrue(Files.exists(dir.resolve(t).resolve("dt=" + D).resolve("_SUCCESS")), t);
    }
    assertEquals("run 2", Files.readString(dir.resolve("runs/dt=" + D + "/summary.json")));
    try (Stream<Path> left = Stream.concat(Files.list(dir.resolve("_staging")), Files.list(dir.resolve("_trash")))) {
      assertEquals(java.util.List.of(), left.toList(), "nothing left in staging or trash");
    }
  }

  private long parquetFiles(String table) throws IOException {
    try (Stream<Path> files = Files.list(dir.resolve(table).resolve("dt=" + D))) {
      return files.filter(p -> p.getFileName().toString().endsWith(".parquet")).count();
    }
  }
}
