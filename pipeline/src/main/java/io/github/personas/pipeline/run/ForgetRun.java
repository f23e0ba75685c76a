package io.github.personas.pipeline.run;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.io.OutputWriter;
import io.github.personas.pipeline.io.RunLock;
import io.github.personas.pipeline.io.Trim;
import io.github.personas.pipeline.validate.ContractValidator;
import io.github.personas.pipeline.validate.UserIds;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/**
 * Erasure across history: removes the listed users from every partition of every table, one date
 * at a time under that date's lock and with the same atomic publish as a run, and keeps a receipt
 * under {@code runs/erasures/}.
 *
 * <p>A row is a listed user's when its {@code user_id} is a listed id (raw, or hashed with the
 * privacy salt where user_id is a hashed personal column). In the quarantine, whose rows are raw
 * source rows, the id is looked up where the source's mapping takes it from (the column named by
 * {@code personas.input.<source>.columns.user_id}); where the mapping is an expression, or the raw
 * row is not JSON (a malformed line), any listed id standing alone in the raw text counts, which
 * may also remove another row naming that value. Aggregates (persona sizes, KPIs, the summaries'
 * counts) name no one and stay. The suppression list keeps the users out of later runs; this
 * removes what earlier runs published.
 */
public final class ForgetRun {

  private static final Logger LOG = LogManager.getLogger(ForgetRun.class);

  /** Folder under {@code runs/} of the erasure receipts. */
  public static final String RECEIPTS = "erasures";

  private static final String ID = "_forget_id";
  private static final String HIT = "_forget_hit";
  private static final java.util.regex.Pattern PLAIN_COLUMN = java.util.regex.Pattern.compile(
      "`?([A-Za-z_][A-Za-z0-9_ ]*)`?");

  /**
   * Rows removed from one table partition.
   *
   * @param table the table
   * @param date  its partition
   * @param rows  rows removed
   */
  public record Removed(String table, LocalDate date, long rows) {}

  /**
   * What an erasure did.
   *
   * @param listedIds distinct ids in the list
   * @param scanned   table partitions looked at
   * @param removed   the partitions that held listed users, with the rows removed
   * @param notDone   dates left as they were because a run of them was in progress, with that run
   * @param receipt   where the receipt is
   */
  public record Result(long listedIds, int scanned, List<Removed> removed, Map<LocalDate, String> notDone,
                       String receipt) {
    /** Copies the lists: a result does not change. */
    public Result {
      removed = List.copyOf(removed);
      notDone = java.util.Collections.unmodifiableMap(new TreeMap<>(notDone));
    }

    /** Rows removed in all. */
    public long rows() {
      return removed.stream().mapToLong(Removed::rows).sum();
    }
  }

  private final SparkSession spark;
  private final PersonasConfig config;

  /** @param config the output (path, files per partition) and the privacy salt come from here */
  public ForgetRun(SparkSession spark, PersonasConfig config) {
    this.spark = Objects.requireNonNull(spark, "spark");
    this.config = Objects.requireNonNull(config, "config");
  }

  /**
   * Removes the users of the list {@code usersPath} from every partition. A date whose run is in
   * progress is left as it was and named in the result and the receipt.
   *
   * @param format one of {@link UserIds#FORMATS}
   * @throws ConfigException when the list cannot be read or the output holds no table
   */
  public Result forget(String usersPath, String format) {
    String root = config.outputPath();
    java.util.SortedSet<LocalDate> dates = dates(root);
    List<String> listed = UserIds.read(spark, usersPath, format, "--users").collectAsList().stream()
        .map(r -> r.getString(0)).sorted().toList();
    java.util.Set<String> ids = new java.util.TreeSet<>(listed);
    if (!config.privacy().salt().isBlank()) {
      // Where user_id is a hashed personal column the outputs carry sha2(salt || id).
      listed.forEach(id -> ids.add(sha256Hex(config.privacy().salt() + id)));
    }
    LOG.info("Forget: {} distinct listed ids, {} dates under {}", listed.size(), dates.size(), root);
    List<Removed> removed = new ArrayList<>();
    Map<LocalDate, String> notDone = new TreeMap<>();
    int scanned = 0;
    List<String> matched = List.copyOf(ids);
    // Built once: every date's user_id tables are joined with the same small table of ids.
    Dataset<Row> idTable = spark.createDataset(matched, org.apache.spark.sql.Encoders.STRING()).toDF(ID);
    for (LocalDate date : dates) {
      try {
        DateResult r = forgetDate(root, date, idTable, matched);
        removed.addAll(r.removed());
        scanned += r.scanned();
      } catch (io.github.personas.pipeline.io.RunLockedException e) {
        LOG.warn("Forget: {} left as it was, a run of it is in progress: {}", date, e.getMessage());
        notDone.put(date, e.holder().map(RunLock.Holder::describe).orElse(e.getMessage()));
      }
    }
    String receipt = writeReceipt(root, usersPath, listed, removed, notDone);
    LOG.info("Forget: removed {} rows from {} of {} partitions{}; receipt {}",
        removed.stream().mapToLong(Removed::rows).sum(), removed.size(), scanned,
        notDone.isEmpty() ? "" : ", " + notDone.size() + " dates not done", receipt);
    return new Result(listed.size(), scanned, removed, notDone, receipt);
  }

  /** What one date gave. */
  private record DateResult(List<Removed> removed, int scanned) {}

  /**
   * Rewrites the partitions of one date that hold listed users, under the date's lock, after
   * settling what runs of the date that are gone left (a publish they began is completed first:
   * it may hold the users too).
   */
  private DateResult forgetDate(String root, LocalDate date, Dataset<Row> idTable, List<String> ids) {
    OutputWriter out = new OutputWriter(spark, root, date, config.filesPerPartition(), config.rowsPerFile());
    List<Removed> removed = new ArrayList<>();
    int scanned = 0;
    try (RunLock lock = out.lock()) {
      out.beginStaging(lock);
      for (String table : tables(root, date)) {
        Dataset<Row> rows = out.read(table);
        Dataset<Row> flagged = flag(rows, idTable, ids);
        if (flagged == null) {
          continue;
        }
        scanned++;
        Row counts = flagged.agg(functions.count(lit(1)), functions.sum(functions.when(col(HIT), 1).otherwise(0)))
            .first();
        long hits = counts.isNullAt(1) ? 0 : counts.getLong(1);
        if (hits == 0) {
          continue;
        }
        long kept = counts.getLong(0) - hits;
        out.write(table, flagged.where(functions.not(col(HIT))).drop(HIT), kept);
        removed.add(new Removed(table, date, hits));
        LOG.info("Forget: {} dt={}: {} rows removed, {} kept", table, date, hits, kept);
      }
      if (removed.isEmpty()) {
        out.abandon();
      } else {
        out.publish(null, List.of());
      }
    }
    return new DateResult(removed, scanned);
  }

  /**
   * {@code rows} with a boolean {@value #HIT} column: the row is a listed user's; null for a table
   * that names no user.
   */
  private Dataset<Row> flag(Dataset<Row> rows, Dataset<Row> idTable, List<String> ids) {
    List<String> columns = List.of(rows.columns());
    if (columns.contains("user_id")) {
      Dataset<Row> hit = functions.broadcast(idTable.withColumn(HIT, lit(true)));
      Column id = Trim.column(rows.col("user_id").cast("string"));
      return rows.join(hit, id.equalTo(hit.col(ID)), "left_outer").drop(ID)
          .withColumn(HIT, functions.coalesce(col(HIT), lit(false)));
    }
    if (columns.contains(ContractValidator.RAW)) {
      return rows.withColumn(HIT, functions.coalesce(rawRowHit(columns.contains("source"), ids), lit(false)));
    }
    return null;
  }

  /**
   * Whether a quarantined raw row is a listed user's: the value under the column its source takes
   * user_id from, or, without such a column or JSON, a listed id standing alone in the raw text.
   */
  private Column rawRowHit(boolean hasSource, List<String> ids) {
    Column raw = col(ContractValidator.RAW);
    Column anywhere = ids.isEmpty() ? lit(false) : raw.rlike("(?<![\\p{L}\\p{N}])(?:"
        + ids.stream().map(java.util.regex.Pattern::quote).collect(java.util.stream.Collectors.joining("|"))
        + ")(?![\\p{L}\\p{N}])");
    Column json = functions.get_json_object(raw, "$").isNotNull();
    Column hit = anywhere;
    if (!hasSource) {
      return hit;
    }
    for (io.github.personas.pipeline.config.SourceConfig source
        : List.of(config.events(), config.profiles())) {
      String mapping = source.columns().getOrDefault("user_id", "user_id").strip();
      java.util.regex.Matcher m = PLAIN_COLUMN.matcher(mapping);
      if (!m.matches()) {
        continue;
      }
      Column value = Trim.column(functions.get_json_object(raw, "$['" + m.group(1) + "']"));
      Column exact = functions.coalesce(value.isin(ids.toArray()), lit(false));
      hit = functions.when(col("source").equalTo(source.name()).and(json), exact).otherwise(hit);
    }
    return hit;
  }

  /**
   * Every date with a partition of a table, or with staging or trash a run left: {@code runs/},
   * models and folders starting with _ are no tables.
   */
  private java.util.SortedSet<LocalDate> dates(String root) {
    Path dir = new Path(root);
    java.util.SortedSet<LocalDate> out = new java.util.TreeSet<>();
    try {
      FileSystem fs = dir.getFileSystem(spark.sparkContext().hadoopConfiguration());
      if (!fs.isDirectory(dir)) {
        throw ConfigException.of("The output %s is not a folder of published tables (--output)", root);
      }
      for (FileStatus table : fs.listStatus(dir)) {
        String name = table.getPath().getName();
        boolean left = name.equals(OutputWriter.STAGING) || name.equals(OutputWriter.TRASH);
        if (!table.isDirectory() || (!left && !isTable(name))) {
          continue;
        }
        for (FileStatus part : fs.listStatus(table.getPath())) {
          String p = part.getPath().getName();
          if (part.isDirectory() && p.startsWith("dt=") && p.length() >= 13) {
            try {
              out.add(LocalDate.parse(p.substring(3, 13)));
            } catch (java.time.format.DateTimeParseException e) {
              LOG.warn("Skipping {}: not a date partition", part.getPath());
            }
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot list " + root, e);
    }
    if (out.isEmpty()) {
      throw ConfigException.of("The output %s holds no table partition (--output)", root);
    }
    return out;
  }

  private static boolean isTable(String name) {
    return !name.startsWith("_") && !name.startsWith(".") && !name.equals(OutputWriter.RUNS)
        && !name.equals(OutputWriter.MODELS) && !name.equals(OutputWriter.PREDICTION_MODELS);
  }

  /** The tables with a partition of {@code date}, looked at under the date's lock, complete or not. */
  private List<String> tables(String root, LocalDate date) {
    Path dir = new Path(root);
    List<String> out = new ArrayList<>();
    try {
      FileSystem fs = dir.getFileSystem(spark.sparkContext().hadoopConfiguration());
      for (FileStatus table : fs.listStatus(dir)) {
        String name = table.getPath().getName();
        Path part = new Path(table.getPath(), "dt=" + date);
        if (table.isDirectory() && isTable(name) && fs.isDirectory(part) && hasData(fs, part)) {
          out.add(name);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot list " + root, e);
    }
    out.sort(null);
    return out;
  }

  private static boolean hasData(FileSystem fs, Path part) throws IOException {
    for (FileStatus f : fs.listStatus(part)) {
      if (f.getPath().getName().endsWith(".parquet")) {
        return true;
      }
    }
    return false;
  }

  private static String sha256Hex(String s) {
    try {
      return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
          .digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The receipt: the ids only as sha2(receipt_salt || id, 256) with a salt of its own, so it
   * proves what was asked (whoever holds an id can check it) without naming anyone, and its hashes
   * match no output's hashed keys.
   */
  private String writeReceipt(String root, String usersPath, List<String> listed, List<Removed> removed,
                              Map<LocalDate, String> notDone) {
    Instant now = Instant.now();
    String name = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC).format(now) + "-"
        + java.util.UUID.randomUUID().toString().substring(0, 8) + ".json";
    byte[] saltBytes = new byte[16];
    new java.security.SecureRandom().nextBytes(saltBytes);
    String salt = java.util.HexFormat.of().formatHex(saltBytes);
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("forgotten_at", now.toString());
    m.put("status", notDone.isEmpty() ? "complete" : "partial");
    m.put("users_file", usersPath);
    m.put("listed_ids", listed.size());
    m.put("receipt_salt", salt);
    m.put("id_hash", "sha2(receipt_salt || user_id, 256)");
    m.put("id_hashes", listed.stream().map(id -> sha256Hex(salt + id)).sorted().toList());
    List<Map<String, Object>> rows = new ArrayList<>();
    for (Removed r : removed) {
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("table", r.table());
      e.put("dt", r.date().toString());
      e.put("rows_removed", r.rows());
      rows.add(e);
    }
    m.put("removed", rows);
    m.put("rows_removed", removed.stream().mapToLong(Removed::rows).sum());
    Map<String, String> pending = new LinkedHashMap<>();
    notDone.forEach((d, who) -> pending.put(d.toString(), who));
    m.put("dates_not_done", pending);
    Path path = new Path(new Path(new Path(root, OutputWriter.RUNS), RECEIPTS), name);
    try {
      FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
      fs.setWriteChecksum(false);
      try (OutputStream o = fs.create(path, false)) {
        o.write(RunSummary.toJson(m).getBytes(StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write the receipt " + path, e);
    }
    return path.toString();
  }
}
