package io.github.personas.jobs;

import static io.github.personas.jobs.CliTesting.cli;
import static io.github.personas.jobs.CliTesting.count;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.testing.SparkTestSession;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The same input, configuration and seed give identical segments and personas, row by row, whatever the shuffle partitioning. */
class DeterminismTest {

  @TempDir
  Path dir;

  private static long difference(Path a, Path b, String table, String columns) throws Exception {
    String x = "(SELECT " + columns + " FROM read_parquet('" + a + "/" + table + "/*/*.parquet'))";
    String y = "(SELECT " + columns + " FROM read_parquet('" + b + "/" + table + "/*/*.parquet'))";
    return count("SELECT count(*) FROM ((" + x + " EXCEPT " + y + ") UNION ALL (" + y + " EXCEPT " + x + "))");
  }

  @Test
  void otherShufflePartitioningGivesIdenticalSegmentsAndPersonas() throws Exception {
    SparkSession spark = SparkTestSession.get();
    String gen = dir.resolve("gen").toString();
    assertEquals(0, cli("generate", "--users", "400", "--days", "30", "--end-date", "2024-03-10", "--seed", "5",
        "--out", gen));
    Path a = dir.resolve("a");
    Path b = dir.resolve("b");
    String before = spark.conf().get("spark.sql.shuffle.partitions");
    try {
      spark.conf().set("spark.sql.shuffle.partitions", "2");
      assertEquals(0, cli("run", "--events", gen + "/events", "--profiles", gen + "/profiles", "--date", "2024-03-10",
          "--output", a.toString()));
      spark.conf().set("spark.sql.shuffle.partitions", "7");
      assertEquals(0, cli("run", "--events", gen + "/events", "--profiles", gen + "/profiles", "--date", "2024-03-10",
          "--output", b.toString()));
    } finally {
      spark.conf().set("spark.sql.shuffle.partitions", before);
    }
    assertEquals(400, count("SELECT count(*) FROM read_parquet('" + a + "/segments/*/*.parquet')"));
    assertEquals(0, difference(a, b, "segments", "*"), "segments differ row by row");
    assertEquals(0, difference(a, b, "personas", "persona_id, persona_name, users, share, CAST(centroid AS VARCHAR),"
        + " CAST(traits AS VARCHAR), goal"), "personas differ");
    assertEquals(0, difference(a, b, "features", "*"), "features differ");
    assertTrue(count("SELECT count(*) FROM read_parquet('" + a + "/personas/*/*.parquet')") >= 2);
  }
}
