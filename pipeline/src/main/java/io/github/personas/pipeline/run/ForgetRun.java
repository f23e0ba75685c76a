package io.github.personas.pipeline.run;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.engine.Caches;
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
 * Erasure across history: removes the listed users from every published partition of every
 * table, one date at a time under that date's lock and with the same atomic publish as a run, and
 * keeps a receipt under {@code runs/erasures/}.
 *
 * <p>A row is a listed user's when its {@code user_id} is a listed id (raw, or hashed with the
 * privacy salt where user_id is a hashed personal column), or, in a table of raw source rows
 * (the quarantine's {@code raw} JSON), when any value of the row is. Aggregates (persona sizes,
 * KPIs, the summary's counts) name no one and are left as they are. The suppression list keeps the
 * users out of later runs; this removes what earlier runs published.
 */
public final class ForgetRun {

  private static final Logger LOG = LogManager.getLogger(ForgetRun.class);

  /** Folder under {@code runs/} of the erasure receipts. */
  public static final String RECEIPTS = "erasures";

  private static final String ID = "_forget_id";
  private static final String ROW = "_forget_row";
  private static final String HIT = "_forget_hit";
  private static final String HIT_ROW = "_forget_hit_row";

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
   * @param receipt   where the receipt is
   */
  public record Result(long listedIds, int scanned, List<Removed> removed, String receipt) {
    public Result {
      removed = List.copyOf(removed);
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
   * Removes the users of the list {@code usersPath} from every published partition.
   *
   * @param format one of {@link UserIds#FORMATS}
   * @throws ConfigException when the list cannot be read or the output holds no table
   * @throws io.github.personas.pipeline.io.RunLockedException when a run of a date to rewrite is in progress
   */
  public Result forget(String usersPath, String format) {
    String root = config.outputPath();
    Map<LocalDate, List<String>> partitions = published(root);
    try (Caches caches = new Caches()) {
      Dataset<Row> listed = caches.persist(UserIds.read(spark, usersPath, format, "--users"));
      long listedIds = listed.count();
      Dataset<Row> ids = listed.select(col("user_id").as(ID));
      if (!config.privacy().salt().isBlank()) {
        ids = ids.union(listed.select(UserIds.saltedHash(config.privacy().salt(), col("user_id")).as(ID)));
      }
      ids = caches.persist(ids.distinct());
      LOG.info("Forget: {} distinct listed ids, {} dates under {}", listedIds, partitions.size(), root);
      List<Removed> removed = new ArrayList<>();
      int scanned = 0;
      for (Map.Entry<LocalDate, List<String>> date : partitions.entrySet()) {
        removed.addAll(forgetDate(root, date.getKey(), date.getValue(), ids, caches));
        scanned += date.getValue().size();
      }
      String receipt = writeReceipt(root, usersPath, listedIds, hashes(listed), removed);
      LOG.info("Forget: removed {} rows from {} of {} partitions; receipt {}",
          removed.stream().mapToLong(Removed::rows).sum(), removed.size(), scanned, receipt);
      return new Result(listedIds, scanned, removed, receipt);
    }
  }

  /** Rewrites the partitions of one date that hold listed users, under the date's lock. */
  private List<Removed> forgetDate(String root, LocalDate date, List<String> tables, Dataset<Row> ids, Caches caches) {
    OutputWriter out = new OutputWriter(spark, root, date, config.filesPerPartition(), config.rowsPerFile());
    List<Removed> removed = new ArrayList<>();
    try (RunLock lock = out.lock()) {
      out.beginStaging(lock);
      for (String table : tables) {
        Dataset<Row> rows = out.read(table);
        Dataset<Row> flagged = flag(rows, ids);
        if (flagged == null) {
          continue;
        }
        flagged = caches.persist(flagged);
        long hits = flagged.where(col(HIT)).count();
        if (hits == 0) {
          continue;
        }
        long kept = flagged.count() - hits;
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
    return removed;
  }

  /**
   * {@code rows} with a boolean {@value #HIT} column: the row is a listed user's; null for a table
   * that names no user.
   */
  private static Dataset<Row> flag(Dataset<Row> rows, Dataset<Row> ids) {
    List<String> columns = List.of(rows.columns());
    Dataset<Row> hit = functions.broadcast(ids.withColumn(HIT, lit(true)));
    if (columns.contains("user_id")) {
      Column id = Trim.column(rows.col("user_id").cast("string"));
      return rows.join(hit, id.equalTo(hit.col(ID)), "left_outer").drop(ID)
          .withColumn(HIT, functions.coalesce(col(HIT), lit(false)));
    }
    if (columns.contains(ContractValidator.RAW)) {
      // A raw source row: the listed id may be under any source column name.
      Dataset<Row> numbered = rows.withColumn(ROW, functions.monotonically_increasing_id());
      Dataset<Row> values = numbered.select(col(ROW), functions.explode(functions.map_values(functions.from_json(
          col(ContractValidator.RAW), org.apache.spark.sql.types.DataTypes.createMapType(
              org.apache.spark.sql.types.DataTypes.StringType, org.apache.spark.sql.types.DataTypes.StringType),
          Map.of()))).as("v"));
      // Renamed: joined back to the rows it came from under its own name, the condition is no self-comparison.
      Dataset<Row> hitRows = values.join(hit, Trim.column(col("v")).equalTo(hit.col(ID)))
          .select(col(ROW).as(HIT_ROW)).distinct().withColumn(HIT, lit(true));
      return numbered.join(hitRows, col(ROW).equalTo(col(HIT_ROW)), "left_outer")
          .drop(HIT_ROW, ROW)
          .withColumn(HIT, functions.coalesce(col(HIT), lit(false)));
    }
    return null;
  }

  /** Date to the tables with a complete partition of it; {@code runs/}, models and folders starting with _ aside. */
  private Map<LocalDate, List<String>> published(String root) {
    Path dir = new Path(root);
    Map<LocalDate, List<String>> out = new TreeMap<>();
    try {
      FileSystem fs = dir.getFileSystem(spark.sparkContext().hadoopConfiguration());
      if (!fs.isDirectory(dir)) {
        throw ConfigException.of("The output %s is not a folder of published tables (--output)", root);
      }
      for (FileStatus table : fs.listStatus(dir)) {
        String name = table.getPath().getName();
        if (!table.isDirectory() || name.startsWith("_") || name.startsWith(".") || name.equals(OutputWriter.RUNS)
            || name.equals(OutputWriter.MODELS)) {
          continue;
        }
        for (FileStatus part : fs.listStatus(table.getPath())) {
          String p = part.getPath().getName();
          if (part.isDirectory() && p.startsWith("dt=") && fs.exists(new Path(part.getPath(), "_SUCCESS"))) {
            try {
              out.computeIfAbsent(LocalDate.parse(p.substring(3)), d -> new ArrayList<>()).add(name);
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
      throw ConfigException.of("The output %s holds no published table partition (--output)", root);
    }
    out.values().forEach(t -> t.sort(null));
    return out;
  }

  /** The listed ids as sha2(salt || id, 256), sorted: the receipt proves what was asked without holding it. */
  private List<String> hashes(Dataset<Row> listed) {
    return listed.select(UserIds.saltedHash(config.privacy().salt(), col("user_id")).as("h")).orderBy("h")
        .collectAsList().stream().map(r -> r.getString(0)).toList();
  }

  private String writeReceipt(String root, String usersPath, long listedIds, List<String> hashes,
                              List<Removed> removed) {
    Instant now = Instant.now();
    String name = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC).format(now) + "-"
        + java.util.UUID.randomUUID().toString().substring(0, 8) + ".json";
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("forgotten_at", now.toString());
    m.put("users_file", usersPath);
    m.put("listed_ids", listedIds);
    m.put("id_hashes", hashes);
    m.put("id_hash", config.privacy().salt().isBlank() ? "sha2(user_id, 256)" : "sha2(salt || user_id, 256)");
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
