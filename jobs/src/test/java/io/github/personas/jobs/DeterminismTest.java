package io.github.personas.jobs;

import static io.github.personas.jobs.CliTesting.cli;
import static io.github.personas.jobs.CliTesting.count;
import static io.github.personas.jobs.CliTesting.differingRows;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.testing.SparkTestSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same input, configuration and seed give identical features, segments and personas, row by
 * row, whatever the number of cores and shuffle partitions.
 */
class DeterminismTest {

  @TempDir
  Path dir;

  @Test
  void otherCoresAndShufflePartitioningGiveIdenticalSegmentsAndPersonas() throws Exception {
    SparkSession spark = SparkTestSession.get();
    String gen = dir.resolve("gen").toString();
    assertEquals(0, cli("generate", "--users", "400", "--days", "30", "--end-date", "2024-03-10", "--seed", "5",
        "--out", gen));
    Path a = dir.resolve("a");
    Path b = dir.resolve("b");
    String[] run = {"run", "--config", CliTesting.fewKConfig(dir).toString(), "--events", gen + "/events",
        "--profiles", gen + "/profiles", "--date", "2024-03-10"};
    // b: another JVM with one core and 7 shuffle partitions, started first so both runs overlap.
    Process child = CliTesting.startChild(List.of("-Xmx1g", "-Dspark.sql.shuffle.partitions=7"), dir.resolve("b.log"),
        concat(run, "--master", "local[1]", "--output", b.toString()));
    // a: this JVM's session, two cores and 2 shuffle partitions.
    // As a user would choose it (-D); the CLI's local defaults leave chosen settings alone.
    String before = spark.conf().get("spark.sql.shuffle.partitions");
    System.setProperty("spark.sql.shuffle.partitions", "2");
    try {
      spark.conf().set("spark.sql.shuffle.partitions", "2");
      assertEquals(0, cli(concat(run, "--output", a.toString())));
    } finally {
      System.clearProperty("spark.sql.shuffle.partitions");
      spark.conf().set("spark.sql.shuffle.partitions", before);
    }
    assertTrue(child.waitFor(5, TimeUnit.MINUTES), "the one-core run finishes");
    assertEquals(0, child.exitValue(), Files.readString(dir.resolve("b.log")));

    String setupA = Files.readString(a.resolve("runs/dt=2024-03-10/summary.json"));
    String setupB = Files.readString(b.resolve("runs/dt=2024-03-10/summary.json"));
    assertTrue(setupA.contains("\"default_parallelism\" : 2") && setupA.contains("\"shuffle_partitions\" : \"2\""),
        setupA);
    assertTrue(setupB.contains("\"master\" : \"local[1]\"") && setupB.contains("\"default_parallelism\" : 1")
        && setupB.contains("\"shuffle_partitions\" : \"7\""), "-D and --master are honoured: " + setupB);

    assertEquals(400, count("SELECT count(*) FROM read_parquet('" + a + "/segments/*/*.parquet')"));
    assertEquals(0, differingRows(a, b, "segments", "*"), "segments differ row by row");
    assertEquals(0, differingRows(a, b, "personas", CliTesting.PERSONA_COLUMNS), "personas differ");
    assertEquals(0, differingRows(a, b, "features", "*"), "features differ");
    assertTrue(count("SELECT count(*) FROM read_parquet('" + a + "/personas/*/*.parquet')") >= 2);
  }

  private static String[] concat(String[] head, String... tail) {
    return java.util.stream.Stream.concat(java.util.Arrays.stream(head), java.util.Arrays.stream(tail))
        .toArray(String[]::new);
  }
}
