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
 * <p>After {@link #beginStaging(RunLock)}, every write goes to {@code <root>/_staging/dt=<date>-<id>/<table>}
 * and {@link #publish} moves each table into its partition with one rename, so readers never see
 * a partial table: a partition is either the previous complete one or the new complete one, each
 * with a {@code _SUCCESS} marker. Rewriting a date replaces only that date's partitions.
 *
 * <p>Staging needs the date's {@link RunLock} ({@link #lock()}): one run per output and date at a
 * time, so whatever staging of the date exists when a run takes the lock was left by a run that is
 * gone. Publishing first writes a journal into the staging folder; a run that dies while
 * publishing leaves it, and the next holder of the date's lock completes that publish (every
 * staged table is complete by then) before it does anything else, so a date is never left mixed.
 * Staging without a journal is removed; a run that lost its lock publishes nothing.
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
  public static final String PREDICTIONS = "predictions";
  public static final String MODEL_METRICS = "model_metrics";
  /** The propensity classifiers of a date (Spark ML format), beside the personas' {@link #MODELS}. */
  public static final String PREDICTION_MODELS = "prediction_models";
  /**
   * The Parquet tables a run may publish, partitioned by {@code dt}: what a catalog registers and
   * BI tools read ({@link #RUNS} holds files, the models folders Spark ML models). In the order of
   * docs/output-schemas.tsv, which pins their columns.
   */
  public static final java.util.List<String> TABLES = java.util.List.of(QUARANTINE, FEATURES, SEGMENTS, PERSONAS,
      K_SELECTION, SEGMENT_KPIS, HOLDOUT_UPLIFT, SEGMENT_TRANSITIONS, SEGMENT_HISTORY, PREDICTIONS, MODEL_METRICS);
  /** Folder under the root where a run writes before it publishes. */
  public static final String STAGING = "_staging";
  /** Folder under the root where a publish moves the partitions it replaces until it ends. */
  public static final String TRASH = "_trash";
  /** Folder under the root of the runs' lock files, one per date. */
  public static final String LOCKS = "_locks";
  private static final String SUCCESS = "_SUCCESS";
  /** The journal of a publish in progress, in its staging folder: one "publish t" or "withdraw t" a line. */
  private static final String JOURNAL = "_PUBLISHING";

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

  /** Folder of {@code table}: its date partitions {@code dt=<date>/} are below it. */
  public String table(String table) {
    return new Path(root, table).toString();
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
   * From now on writes go to a fresh staging folder until {@link #publish}. What runs of this date
   * that are gone left is settled first ({@code lock} proves no other run of the date is alive): a
   * publish they began is completed, other staging and trash removed.
   *
   * @param lock this date's lock, held by the caller
   */
  public void beginStaging(RunLock lock) {
    java.util.Objects.requireNonNull(lock, "lock");
    settle();
    this.lock = lock;
    staging = new Path(new Path(root, STAGING), "dt=" + date + "-" + lock.holder().runId());
    staged.clear();
  }

  /** Completes the publishes, and removes the staging and trash, that gone runs of this date left. */
  private void settle() {
    String prefix = "dt=" + date + "-";
    try {
      for (String folder : java.util.List.of(STAGING, TRASH)) {
        Path dir = new Path(root, folder);
        FileSystem fs = fs(dir);
        if (!fs.exists(dir)) {
          continue;
        }
        for (org.apache.hadoop.fs.FileStatus st : fs.listStatus(dir)) {
          if (!st.getPath().getName().startsWith(prefix)) {
            continue;
          }
          Path journal = new Path(st.getPath(), JOURNAL);
          if (folder.equals(STAGING) && fs.exists(journal)) {
            LOG.warn("Completing the publish of {}, which an earlier run of {} began and did not finish",
                st.getPath(), date);
            complete(fs, st.getPath(), readJournal(fs, journal));
          } else if (fs.exists(st.getPath())) {
            LOG.warn("Removing {}, left by an earlier run of {} that did not finish", st.getPath(), date);
            fs.delete(st.getPath(), true);
          }
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("Cannot settle what earlier runs of " + date + " left under " + root, e);
    }
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
   * Whether {@link #read(String)} finds {@code table} for the run date: this run staged it, or a
   * complete ({@code _SUCCESS}) partition is published. For tables a run may leave out (predictions
   * when the PREDICT stage is off).
   */
  public boolean has(String table) {
    return staging != null && staged.contains(table) || has(table, date);
  }

  /** Whether {@code table} has a complete ({@code _SUCCESS}) published partition for {@code other}. */
  public boolean has(String table, LocalDate other) {
    Path marker = new Path(new Path(new Path(root, table), "dt=" + other), SUCCESS);
    try {
      return fs(marker).exists(marker);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("Cannot look for " + marker, e);
    }
  }

  /**
   * Publishes staged tables: each table's staged folder replaces its date partition by a rename
   * (the old partition is moved aside first, then deleted), with a {@code _SUCCESS} marker; the
   * date's partitions of the {@code replaced} tables this run did not publish are withdrawn, so the
   * date never mixes this run's tables with an earlier run's. {@code runs/} is moved aside first
   * and published last: while the date changes, no summary of either run is there.
   *
   * @param tables   the tables to publish, or null for all staged ones; the rest are discarded
   * @param replaced the tables whose partition for the date this run replaces: published, or withdrawn
   * @return the published partitions
   * @throws RunLockedException when this run no longer holds its lock (nothing is published)
   */
  public java.util.List<String> publish(java.util.Collection<String> tables, java.util.Collection<String> replaced) {
    if (staging == null) {
      return java.util.List.of();
    }
    lock.checkHeld();
    java.util.List<String> journal = new java.util.ArrayList<>();
    java.util.List<String> published = new java.util.ArrayList<>();
    try {
      FileSystem fs = fs(staging);
      java.util.List<String> order = new java.util.ArrayList<>();
      for (String table : staged) {
        if ((tables == null || tables.contains(table)) && fs.exists(new Path(staging, table))) {
          order.add(table);
        }
      }
      if (order.remove(RUNS)) {
        order.add(RUNS);
      }
      for (String table : replaced) {
        if (!order.contains(table)) {
          journal.add("withdraw " + table);
        }
      }
      order.forEach(t -> journal.add("publish " + t));
      for (String table : order) {
        // Unpublished tables go before the journal exists: a run completing this publish needs only these.
        if (!fs.exists(new Path(new Path(staging, table), SUCCESS))) {
          fs.create(new Path(new Path(staging, table), SUCCESS), true).close();
        }
        published.add(partition(table));
      }
      for (String table : staged) {
        if (!order.contains(table)) {
          fs.delete(new Path(staging, table), true);
        }
      }
      try (OutputStream out = fs.create(new Path(staging, JOURNAL), true)) {
        out.write((String.join("\n", journal) + "\n").getBytes(StandardCharsets.UTF_8));
      }
      complete(fs, staging, journal);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("Cannot publish " + staging + " under " + root
          + "; the next run of " + date + " completes it", e);
    }
    LOG.info("Published {} partitions for {} under {}", published.size(), date, root);
    staging = null;
    staged.clear();
    return published;
  }

  /**
   * Carries out a publish's journal: every step can be repeated, so a publish that stopped half way
   * is completed by running it again.
   */
  private void complete(FileSystem fs, Path stagingDir, java.util.List<String> journal) throws IOException {
    Path trash = new Path(new Path(root, TRASH), stagingDir.getName());
    java.util.List<String> publish = new java.util.ArrayList<>();
    java.util.List<String> withdraw = new java.util.ArrayList<>();
    for (String step : journal) {
      String[] w = step.split(" ", 2);
      (w[0].equals("publish") ? publish : withdraw).add(w[1]);
    }
    if (publish.contains(RUNS) && fs.exists(new Path(stagingDir, RUNS))) {
      moveAside(fs, new Path(partition(RUNS)), new Path(trash, RUNS));
    }
    for (String table : withdraw) {
      if (fs.exists(new Path(partition(table)))) {
        LOG.warn("Withdrawing {}: it came from an earlier run of {}, which this run replaces", partition(table), date);
        moveAside(fs, new Path(partition(table)), new Path(trash, table));
      }
    }
    for (String table : publish) {
      Path src = new Path(stagingDir, table);
      if (!fs.exists(src)) {
        continue; // published before the publish stopped
      }
      Path dst = new Path(partition(table));
      moveAside(fs, dst, new Path(trash, table));
      fs.mkdirs(dst.getParent());
      if (!fs.rename(src, dst)) {
        throw new IOException("rename " + src + " to " + dst + " failed");
      }
    }
    fs.delete(trash, true);
    fs.delete(stagingDir, true);
  }

  /**
   * Moves a partition into the trash, if it is there; when the trash holds that table already (a
   * publish repeated), the partition is a leftover and is deleted.
   */
  private static void moveAside(FileSystem fs, Path partition, Path to) throws IOException {
    if (!fs.exists(partition)) {
      return;
    }
    if (fs.exists(to)) {
      fs.delete(partition, true);
      return;
    }
    fs.mkdirs(to.getParent());
    if (!fs.rename(partition, to)) {
      throw new IOException("rename " + partition + " to " + to + " failed");
    }
  }

  private static java.util.List<String> readJournal(FileSystem fs, Path journal) throws IOException {
    try (java.io.InputStream in = fs.open(journal)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
    }
  }

  /**
   * Discards everything staged: nothing of this run is published. A publish that began is kept
   * for the next run of the date to complete, since part of it may be published already.
   */
  public void abandon() {
    if (staging == null) {
      return;
    }
    try {
      FileSystem fs = fs(staging);
      if (fs.exists(new Path(staging, JOURNAL))) {
        LOG.warn("Leaving {}: its publish began, and the next run of {} completes it", staging, date);
      } else {
        fs.delete(staging, true);
      }
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
