package io.github.personas.pipeline.io;

import io.github.personas.pipeline.config.ConfigException;
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
 * <p>After {@link #beginStaging()}, every write goes to {@code <root>/_staging/dt=<date>-<id>/<table>}
 * and {@link #publish} moves each table into its partition with one rename, so readers never see
 * a partial table: a partition is either the previous complete one or the new complete one, each
 * with a {@code _SUCCESS} marker. Rewriting a date replaces only that date's partitions.
 *
 * <p>Staging needs the date's {@link RunLock} ({@link #lock()}): one run per output and date at a
 * time, so whatever staging of the date exists when a run takes the lock was left by a run that is
 * gone, and is removed; a run that lost its lock publishes nothing.
 */
public final class OutputWriter {

  private static final org.apache.logging.log4j.Logger LOG =
      org.apache.logging.log4j.LogManager.getLogger(OutputWriter.class);

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
  /** Folder under the root where a run writes before it publishes. */
  public static final String STAGING = "_staging";
  private static final String TRASH = "_trash";
  /** Folder under the root of the runs' lock files, one per date. */
  public static final String LOCKS = "_locks";
  private static final String SUCCESS = "_SUCCESS";

  private final SparkSession spark;
  private final String root;
  private final LocalDate date;
  private final int filesPerPartition;
  private final long rowsPerFile;
  private Path staging;
  private RunLock lock;
  private final java.util.LinkedHashSet<String> staged = new java.util.LinkedHashSet<>();

  /**
   * @param root              folder of the tables
   * @param date              the run date, whose partitions this writer writes
   * @param filesPerPartition Parquet files per table partition, at least (1 or more)
   * @param rowsPerFile       a table of more rows is written as {@code ceil(rows / rowsPerFile)} files
   */
  public OutputWriter(SparkSession spark, String root, LocalDate date, int filesPerPartition, long rowsPerFile) {
    if (filesPerPartition < 1 || rowsPerFile < 1) {
      throw new IllegalArgumentException(String.format(
          "filesPerPartition and rowsPerFile must be at least 1, got %s and %s", filesPerPartition, rowsPerFile));
    }
    this.spark = spark;
    this.root = root;
    this.date = date;
    this.filesPerPartition = filesPerPartition;
    this.rowsPerFile = rowsPerFile;
    checkRootIsNoFile();
  }

  /** An output root that is a file fails here, before any input is read, not at the first write. */
  private void checkRootIsNoFile() {
    Path path = new Path(root);
    try {
      FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
      if (fs.exists(path) && fs.getFileStatus(path).isFile()) {
        throw ConfigException.of("The output %s is a file; it must be a folder, created when missing"
            + " (personas.output.path, or --output).", root);
      }
    } catch (java.io.IOException e) {
      throw new ConfigException(String.format("Cannot open the output %s (personas.output.path, or --output): %s",
          root, e.getMessage()), e);
    }
  }

  /** Folder of {@code table}'s partition for the run date: where it is (or will be) published. */
  public String partition(String table) {
    return new Path(new Path(root, table), "dt=" + date).toString();
  }

  /**
   * Takes the lock on this output's run date; the caller closes it when its run ends.
   *
   * @throws RunLockedException when another live run of the date holds it
   */
  public RunLock lock() {
    Path file = new Path(new Path(root, LOCKS), "dt=" + date + ".lock");
    try {
      return RunLock.acquire(fs(file), file, date + " into " + root);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("Cannot open " + file, e);
    }
  }

  /**
   * From now on writes go to a fresh staging folder until {@link #publish}. Staging folders of
   * this date that runs which are gone left (a killed JVM) are deleted first: {@code lock} proves
   * no other run of the date is alive.
   *
   * @param lock this date's lock, held by the caller
   */
  public void beginStaging(RunLock lock) {
    java.util.Objects.requireNonNull(lock, "lock");
    Path stagingRoot = new Path(root, STAGING);
    try {
      FileSystem fs = fs(stagingRoot);
      if (fs.exists(stagingRoot)) {
        for (org.apache.hadoop.fs.FileStatus st : fs.listStatus(stagingRoot)) {
          if (st.getPath().getName().startsWith("dt=" + date + "-")) {
            LOG.warn("Removing {}, left by an earlier run of {} that did not finish", st.getPath(), date);
            fs.delete(st.getPath(), true);
          }
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("Cannot clean " + stagingRoot, e);
    }
    this.lock = lock;
    staging = new Path(stagingRoot, "dt=" + date + "-" + lock.holder().runId());
    staged.clear();
  }

  /** Where {@code table} is written now: its staging folder, or its partition when not staging. */
  public String writePath(String table) {
    staged.add(table);
    return staging == null ? partition(table) : new Path(staging, table).toString();
  }

  /**
   * Writes {@code df} as the run date's partition of {@code table}, replacing it.
   *
   * @param rows the rows of {@code df} (known to the caller, which counted them), for the number of files
   */
  public void write(String table, Dataset<Row> df, long rows) {
    df.coalesce(files(rows)).write().mode(SaveMode.Overwrite).parquet(writePath(table));
  }

  /** Files for a table partition of {@code rows} rows. */
  int files(long rows) {
    return (int) Math.min(Integer.MAX_VALUE, Math.max(filesPerPartition, (rows + rowsPerFile - 1) / rowsPerFile));
  }

  /** Reads the run date's partition of {@code table}: this run's staged version if it wrote one. */
  public Dataset<Row> read(String table) {
    String path = staging != null && staged.contains(table) ? new Path(staging, table).toString() : partition(table);
    return spark.read().parquet(path);
  }

  /**
   * Publishes staged tables: each table's staged folder replaces its date partition by a rename
   * (the old partition is moved aside first, then deleted), with a {@code _SUCCESS} marker; the
   * date's partitions of the {@code replaced} tables this run did not publish are withdrawn, so the
   * date never mixes this run's tables with an earlier run's. {@code runs/} goes last.
   *
   * @param tables   the tables to publish, or null for all staged ones; the rest are discarded
   * @param replaced the tables whose partition for the date this run replaces: published, or withdrawn
   * @return the published partitions
   * @throws IllegalStateException when this run no longer holds its lock (nothing is published)
   */
  public java.util.List<String> publish(java.util.Collection<String> tables, java.util.Collection<String> replaced) {
    if (staging == null) {
      return java.util.List.of();
    }
    lock.checkHeld();
    java.util.List<String> published = new java.util.ArrayList<>();
    Path trash = new Path(new Path(root, TRASH), staging.getName());
    try {
      FileSystem fs = fs(staging);
      java.util.List<String> order = new java.util.ArrayList<>();
      for (String table : staged) {
        if ((tables == null || tables.contains(table)) && fs.exists(new Path(staging, table))) {
          order.add(table);
        }
      }
      for (String table : replaced) {
        Path old = new Path(partition(table));
        if (!order.contains(table) && fs.exists(old)) {
          LOG.warn("Withdrawing {}: it came from an earlier run of {}, which this run replaces", old, date);
          moveAside(fs, old, new Path(trash, table));
        }
      }
      // runs/ (summary.json and its _SUCCESS) goes last: a sensor waiting on it sees every table.
      if (order.remove(RUNS)) {
        order.add(RUNS);
      }
      for (String table : order) {
        Path src = new Path(staging, table);
        if (!fs.exists(new Path(src, SUCCESS))) {
          fs.create(new Path(src, SUCCESS), true).close();
        }
        Path dst = new Path(partition(table));
        fs.mkdirs(dst.getParent());
        if (fs.exists(dst)) {
          moveAside(fs, dst, new Path(trash, table));
        }
        if (!fs.rename(src, dst)) {
          throw new IOException("rename " + src + " to " + dst + " failed");
        }
        published.add(dst.toString());
      }
      fs.delete(trash, true);
      fs.delete(staging, true);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("Cannot publish " + staging + " under " + root, e);
    }
    LOG.info("Published {} partitions for {} under {}", published.size(), date, root);
    staging = null;
    staged.clear();
    return published;
  }

  private static void moveAside(FileSystem fs, Path partition, Path to) throws IOException {
    fs.mkdirs(to.getParent());
    if (!fs.rename(partition, to)) {
      throw new IOException("rename " + partition + " to " + to + " failed");
    }
  }

  /** Discards everything staged: nothing of this run is published. */
  public void abandon() {
    if (staging == null) {
      return;
    }
    try {
      fs(staging).delete(staging, true);
    } catch (IOException e) {
      LOG.warn("Cannot delete {}: {}", staging, e.getMessage());
    }
    staging = null;
    staged.clear();
  }

  private FileSystem fs(Path p) throws IOException {
    return p.getFileSystem(spark.sparkContext().hadoopConfiguration());
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

  /**
   * Writes a small text file (summary.json, report.html) into the run date's partition of
   * {@code table} (staged like the tables).
   *
   * @return where the file is once published
   */
  public String writeText(String table, String fileName, String text) {
    Path path = new Path(writePath(table), fileName);
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
    return new Path(partition(table), fileName).toString();
  }
}
