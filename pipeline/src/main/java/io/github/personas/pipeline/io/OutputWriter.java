package io.github.personas.pipeline.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

/**
 * Writes output tables as Hive-style date partitions: {@code <root>/<table>/dt=<date>/}.
 *
 * <p>Rewriting a date replaces only that date's folder. Spark's committer leaves a
 * {@code _SUCCESS} marker in each written partition.
 */
public final class OutputWriter {

  public static final String FEATURES = "features";
  public static final String SEGMENTS = "segments";
  public static final String PERSONAS = "personas";
  public static final String SEGMENT_KPIS = "segment_kpis";
  public static final String QUARANTINE = "quarantine";
  public static final String RUNS = "runs";
  public static final String MODELS = "models";

  private final SparkSession spark;
  private final String root;
  private final LocalDate date;
  private final int filesPerPartition;

  public OutputWriter(SparkSession spark, String root, LocalDate date, int filesPerPartition) {
    this.spark = spark;
    this.root = root;
    this.date = date;
    this.filesPerPartition = filesPerPartition;
  }

  /** Folder of {@code table}'s partition for the run date. */
  public String partition(String table) {
    return new Path(new Path(root, table), "dt=" + date).toString();
  }

  /** Writes {@code df} as the run date's partition of {@code table}, replacing it. */
  public void write(String table, Dataset<Row> df) {
    df.coalesce(filesPerPartition).write().mode(SaveMode.Overwrite).parquet(partition(table));
  }

  /** Reads the run date's partition of {@code table}. */
  public Dataset<Row> read(String table) {
    return spark.read().parquet(partition(table));
  }

  /** Writes a small text file (summary.json) into the run date's partition of {@code table}. */
  public String writeText(String table, String fileName, String text) {
    Path path = new Path(partition(table), fileName);
    try {
      FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
      try (OutputStream out = fs.create(path, true)) {
        out.write(text.getBytes(StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("Cannot write " + path, e);
    }
    return path.toString();
  }
}
