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
  public static final String K_SELECTION = "k_selection";
  public static final String HOLDOUT_UPLIFT = "holdout_uplift";
  public static final String SEGMENT_TRANSITIONS = "segment_transitions";
  public static final String SEGMENT_HISTORY = "segment_history";

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

  /**
   * The latest date before the run date with a complete ({@code _SUCCESS}) partition of
   * {@code table}, if any: the previous run as far as this table is concerned.
   */
  public java.util.Optional<LocalDate> previousDate(String table) {
    Path dir = new Path(root, table);
    try {
      FileSystem fs = dir.getFileSystem(spark.sparkContext().hadoopConfiguration());
      if (!fs.exists(dir)) {
        return java.util.Optional.empty();
      }
      LocalDate best = null;
      for (org.apache.hadoop.fs.FileStatus st : fs.listStatus(dir)) {
        String name = st.getPath().getName();
        if (!st.isDirectory() || !name.startsWith("dt=")) {
          continue;
        }
        LocalDate d;
        try {
          d = LocalDate.parse(name.substring(3));
        } catch (java.time.format.DateTimeParseException e) {
          continue;
        }
        if (d.isBefore(date) && (best == null || d.isAfter(best)) && fs.exists(new Path(st.getPath(), "_SUCCESS"))) {
          best = d;
        }
      }
      return java.util.Optional.ofNullable(best);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("Cannot list " + dir, e);
    }
  }

  /** Reads {@code table}'s partition of another date. */
  public Dataset<Row> read(String table, LocalDate other) {
    return spark.read().parquet(new Path(new Path(root, table), "dt=" + other).toString());
  }

  /** Every partition of {@code table} before the run date, with its {@code dt} column. */
  public Dataset<Row> readBefore(String table) {
    return spark.read().parquet(new Path(root, table).toString())
        .where(org.apache.spark.sql.functions.col("dt").lt(org.apache.spark.sql.functions.lit(date.toString())));
  }

  /** Writes a small text file (summary.json) into the run date's partition of {@code table}. */
  public String writeText(String table, String fileName, String text) {
    Path path = new Path(partition(table), fileName);
    try {
      FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
      // No .crc side files beside report.html and summary.json on a local disk.
      fs.setWriteChecksum(false);
      try (OutputStream out = fs.create(path, true)) {
        out.write(text.getBytes(StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("Cannot write " + path, e);
    }
    return path.toString();
  }
}
