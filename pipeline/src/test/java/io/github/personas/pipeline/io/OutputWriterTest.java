package io.github.personas.pipeline.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

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

  private long parquetFiles(String table) throws IOException {
    try (Stream<Path> files = Files.list(dir.resolve(table).resolve("dt=" + D))) {
      return files.filter(p -> p.getFileName().toString().endsWith(".parquet")).count();
    }
  }
}
