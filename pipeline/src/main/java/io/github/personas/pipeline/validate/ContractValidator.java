package io.github.personas.pipeline.validate;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.SourceConfig;
import io.github.personas.pipeline.io.Contract;
import io.github.personas.pipeline.io.SourceReader;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.DateType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.TimestampNTZType;
import org.apache.spark.sql.types.TimestampType;
import org.apache.spark.storage.StorageLevel;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Maps a raw source onto a contract table, converts types and splits rows into accepted and
 * quarantined, with a reason code per quarantined row.
 *
 * <p>Reason codes, checked in this order (the first that applies is the row's reason):
 * <ul>
 *   <li>{@code missing_<column>}: a required column is null or blank;</li>
 *   <li>{@code unparseable_<column>}: a timestamp that is neither ISO-8601 text nor epoch millis;</li>
 *   <li>{@code invalid_<column>}: a number or flag that does not parse as its contract type;</li>
 *   <li>{@code non_finite_<column>}: NaN or infinite numbers;</li>
 *   <li>{@code purchase_without_revenue}, {@code refund_without_revenue} (events);</li>
 *   <li>{@code event_after_run_date}: an event later than the end of the run date, UTC (events).</li>
 * </ul>
 * Rows whose dedup key ({@code event_id} for events, {@code user_id} for profiles) was already
 * accepted are dropped and counted as duplicates. Nothing else is dropped, and
 * {@link SourceCounts#reconciles()} holds by construction and is checked by the tests.
 */
public final class ContractValidator {

  private static final Logger LOG = LogManager.getLogger(ContractValidator.class);

  public static final String SOURCE = "source";
  public static final String SOURCE_FILE = "source_file";
  public static final String REASON = "reason";
  public static final String DETAIL = "detail";
  public static final String RAW = "raw";
  /** Columns of the quarantine table, in order. */
  public static final List<String> QUARANTINE_COLUMNS = List.of(SOURCE, SOURCE_FILE, REASON, DETAIL, RAW);

  public static final String EVENT_AFTER_RUN_DATE = "event_after_run_date";

  private static final String MAPPED = "m__";
  private static final String KEEP = "_keep";
  private static final String SRC = "_src";
  private static final Set<String> PARTITION_COLUMNS = Set.of("dt");

  private static final String SUPPRESSED = "_suppressed";

  // The validation pass's shuffle carries three kinds of rows: per-class counts, blocks of valid
  // rows' key hashes (bucketed by hash, so equal hashes meet), and a fold's partial states (by key).
  private static final int KIND_COUNT = 0;
  private static final int KIND_HASHES = 1;
  private static final int KIND_STATE = 2;
  private static final org.apache.spark.sql.types.StructType PASS =
      org.apache.spark.sql.types.StructType.fromDDL("kind int, part int, key string, n bigint, blob binary");
  /** Key hashes a partition buffers before writing them out as blocks. */
  private static final int MAX_BUFFERED_HASHES = 1 << 22;

  /**
   * For each of {@code n} buckets, a {@code part} value that Spark's hash partitioning into
   * {@code n} partitions (pmod of Murmur3 with seed 42) sends to the partition of that number.
   * The bucket numbers themselves collide: 8 buckets filled only 4 of 8 partitions, so half the
   * reduce tasks did all the merging.
   */
  static int[] partValues(int n) {
    int[] part = new int[n];
    java.util.Arrays.fill(part, -1);
    int found = 0;
    for (int v = 0; found < n; v++) {
      int p = Math.floorMod(org.apache.spark.unsafe.hash.Murmur3_x86_32.hashInt(v, 42), n);
      if (part[p] < 0) {
        part[p] = v;
        found++;
      }
    }
    return part;
  }

  /**
   * How many values equal an earlier one. The values (key hashes, uniform in their high bits)
   * are first spread by their top 16 bits and then only the small runs are sorted: about twice
   * as fast as sorting millions of longs at once, which was a twentieth of the validation.
   */
  static long repeatedValues(long[] values) {
    final int shift = 48;
    int[] start = new int[(1 << (64 - shift)) + 1];
    for (long v : values) {
      start[(int) (v >>> shift) + 1]++;
    }
    for (int b = 1; b < start.length; b++) {
      start[b] += start[b - 1];
    }
    int[] next = java.util.Arrays.copyOf(start, start.length - 1);
    long[] spread = new long[values.length];
    for (long v : values) {
      spread[next[(int) (v >>> shift)]++] = v;
    }
    long repeated = 0;
    for (int b = 0; b + 1 < start.length; b++) {
      int from = start[b];
      int to = start[b + 1];
      if (to - from > 1) {
        java.util.Arrays.sort(spread, from, to);
        for (int i = from + 1; i < to; i++) {
          if (spread[i] == spread[i - 1]) {
            repeated++;
          }
        }
      }
    }
    return repeated;
  }

  /**
   * Map side of the validation pass over one partition of (class, key hash or null, fold
   * columns...): counts rows per class, buffers valid rows' key hashes by bucket and folds valid rows.
   */
  private static final class MapSide implements org.apache.spark.api.java.function.FlatMapFunction<
      java.util.Iterator<org.apache.spark.sql.catalyst.InternalRow>, Row> {
    private final RowFold fold;
    private final int buckets;
    private final int[] part;

    MapSide(RowFold fold, int buckets) {
      this.fold = fold;
      this.buckets = buckets;
      this.part = partValues(buckets);
    }

    @Override
    public java.util.Iterator<Row> call(java.util.Iterator<org.apache.spark.sql.catalyst.InternalRow> rows) {
      org.apache.spark.unsafe.types.UTF8String passed = org.apache.spark.unsafe.types.UTF8String.fromString(CLASS_PASSED);
      RowFold.Folder folder = fold == null ? null : fold.newFolder();
      Map<org.apache.spark.unsafe.types.UTF8String, long[]> counts = new HashMap<>();
      long[] passedRows = {0};
      long[][] hashes = new long[buckets][];
      int[] filled = new int[buckets];
      java.util.ArrayDeque<Row> out = new java.util.ArrayDeque<>();
      return new java.util.Iterator<>() {
        private int buffered;
        private boolean done;

        @Override
        public boolean hasNext() {
          while (out.isEmpty() && !done) {
            if (!rows.hasNext()) {
              done = true;
              writeStates();
              writeHashes();
              if (passedRows[0] > 0) {
                counts.put(passed, passedRows);
              }
              counts.forEach((c, n) -> out.add(org.apache.spark.sql.RowFactory.create(KIND_COUNT, 0, c.toString(), n[0], null)));
              break;
            }
            org.apache.spark.sql.catalyst.InternalRow r = rows.next();
            org.apache.spark.unsafe.types.UTF8String c = r.getUTF8String(0);
            // Nearly every row passes: count those without hashing the class name.
            if (!c.equals(passed)) {
              long[] n = counts.get(c);
              if (n == null) {
                counts.put(c.clone(), new long[] {1});
              } else {
                n[0]++;
              }
              continue;
            }
            passedRows[0]++;
            if (!r.isNullAt(1)) {
              long h = r.getLong(1);
              int b = Math.floorMod(h, buckets);
              if (hashes[b] == null || filled[b] == hashes[b].length) {
                hashes[b] = hashes[b] == null ? new long[64] : java.util.Arrays.copyOf(hashes[b], filled[b] * 2);
              }
              hashes[b][filled[b]++] = h;
              if (++buffered >= MAX_BUFFERED_HASHES) {
                writeHashes();
              }
            }
            if (folder != null) {
              folder.add(r, 2);
              if (folder.full()) {
                writeStates();
              }
            }
          }
          return !out.isEmpty();
        }

        private void writeStates() {
          if (folder != null) {
            for (Map.Entry<String, byte[]> e : folder.drain()) {
              out.add(org.apache.spark.sql.RowFactory.create(KIND_STATE, part[Math.floorMod(e.getKey().hashCode(), buckets)],
                  e.getKey(), null, e.getValue()));
            }
          }
        }

        private void writeHashes() {
          for (int b = 0; b < buckets; b++) {
            if (filled[b] > 0) {
              java.nio.ByteBuffer block = java.nio.ByteBuffer.allocate(filled[b] * Long.BYTES);
              block.asLongBuffer().put(hashes[b], 0, filled[b]);
              out.add(org.apache.spark.sql.RowFactory.create(KIND_HASHES, part[b], null, (long) filled[b], block.array()));
              hashes[b] = null;
              filled[b] = 0;
            }
          }
          buffered = 0;
        }

        @Override
        public Row next() {
          if (!hasNext()) {
            throw new java.util.NoSuchElementException();
          }
          return out.poll();
        }
      };
    }
  }

  /**
   * Reduce side of the validation pass, over rows sorted by kind and key: sums the counts,
   * counts neighbours among the sorted key hashes (candidate duplicates) and merges each key's
   * fold states.
   */
  private static final class ReduceSide implements org.apache.spark.api.java.function.MapPartitionsFunction<Row, Row> {
    private final RowFold fold;

    ReduceSide(RowFold fold) {
      this.fold = fold;
    }

    @Override
    public java.util.Iterator<Row> call(java.util.Iterator<Row> rows) {
      Map<String, Long> counts = new HashMap<>();
      List<byte[]> blocks = new ArrayList<>();
      long total = 0;
      Row state = null;
      while (rows.hasNext()) {
        Row r = rows.next();
        if (r.getInt(0) == KIND_COUNT) {
          counts.merge(r.getString(2), r.getLong(3), Long::sum);
        } else if (r.getInt(0) == KIND_HASHES) {
          blocks.add(r.getAs(4));
          total += r.getLong(3);
        } else {
          state = r;
          break;
        }
      }
      java.util.ArrayDeque<Row> head = new java.util.ArrayDeque<>();
      counts.forEach((c, n) -> head.add(org.apache.spark.sql.RowFactory.create(KIND_COUNT, 0, c, n, null)));
      if (total > 0) {
        long[] all = new long[Math.toIntExact(total)];
        int at = 0;
        for (byte[] b : blocks) {
          java.nio.LongBuffer l = java.nio.ByteBuffer.wrap(b).asLongBuffer();
          int len = l.remaining();
          l.get(all, at, len);
          at += len;
        }
        long repeated = repeatedValues(all);
        head.add(org.apache.spark.sql.RowFactory.create(KIND_HASHES, 0, null, repeated, null));
      }
      java.util.Iterator<Row> states = fold == null ? java.util.Collections.emptyIterator()
          : fold.mergeRuns(state, rows, 2, 4, (key, merged) -> org.apache.spark.sql.RowFactory.create(KIND_STATE, 0, key,
              null, merged));
      return new java.util.Iterator<>() {
        @Override
        public boolean hasNext() {
          return !head.isEmpty() || states.hasNext();
        }

        @Override
        public Row next() {
          return head.isEmpty() ? states.next() : head.poll();
        }
      };
    }
  }

  /** Row classes besides the reason codes; a reason code never starts with '~'. */
  private static final String CLASS_FILTERED = "~filtered";
  private static final String CLASS_SUPPRESSED = "~suppressed";
  private static final String CLASS_PASSED = "~passed";

  private final SparkSession spark;
  private final LocalDate runDate;
  private final io.github.personas.pipeline.config.PersonasConfig.Privacy privacy;
  private Dataset<Row> suppressedUsers;
  /** What this validator cached for its results, released by {@link #releaseCaches()}. */
  private final List<Dataset<Row>> cached = new ArrayList<>();

  /**
   * @param spark   the session
   * @param runDate the logical run date; events after its end (UTC) are quarantined
   */
  public ContractValidator(SparkSession spark, LocalDate runDate) {
    this(spark, runDate, io.github.personas.pipeline.config.PersonasConfig.Privacy.NONE);
  }

  /**
   * @param spark   the session
   * @param runDate the logical run date; events after its end (UTC) are quarantined
   * @param privacy the hashing salt and the suppression list
   */
  public ContractValidator(SparkSession spark, LocalDate runDate,
                           io.github.personas.pipeline.config.PersonasConfig.Privacy privacy) {
    this.spark = spark;
    this.runDate = runDate;
    this.privacy = privacy;
  }

  /** The distinct user ids of the suppression list, read once; null without a list. */
  private Dataset<Row> suppressedUsers() {
    if (!privacy.suppresses()) {
      return null;
    }
    if (suppressedUsers == null) {
      String path = privacy.suppressionList();
      Dataset<Row> list;
      try {
        list = switch (privacy.suppressionFormat()) {
          case "text" -> spark.read().text(path).select(functions.trim(col("value")).as("user_id"));
          case "csv" -> spark.read().option("header", "true").csv(path);
          default -> spark.read().parquet(path);
        };
      } catch (Exception e) {
        throw ConfigException.of(
            "Cannot read personas.privacy.suppression_list %s as %s: %s", path, privacy.suppressionFormat(),
            ConfigException.firstLine(e));
      }
      if (!List.of(list.columns()).contains("user_id")) {
        throw ConfigException.of(
            "personas.privacy.suppression_list %s has no user_id column; columns: %s", path, List.of(list.columns()));
      }
      Dataset<Row> ids = list.select(col("user_id").cast("string").as("user_id"))
          .where(col("user_id").isNotNull().and(col("user_id").notEqual(lit(""))));
      if (!privacy.salt().isBlank()) {
        // The list holds the ids people asked about (raw); where user_id is a hashed personal
        // column the events carry the hash, so both forms are matched.
        ids = ids.unionByName(ids.select(saltedHash(col("user_id")).as("user_id")));
      }
      suppressedUsers = ids.distinct().withColumn(SUPPRESSED, lit(true)).persist(StorageLevel.MEMORY_AND_DISK());
      LOG.info("Suppression list {}: {} ids (raw and, with a salt, hashed)", path, suppressedUsers.count());
    }
    return suppressedUsers;
  }

  /** sha2(salt || value, 256): the one form of a hashed personal value, in columns and in the suppression list. */
  private Column saltedHash(Column value) {
    return functions.sha2(functions.concat(lit(privacy.salt()), value.cast("string")), 256);
  }

  /**
   * Replaces personal source columns by their salted hash, or removes their values, before
   * anything else sees them.
   */
  private Dataset<Row> protect(Dataset<Row> raw, SourceConfig source) {
    Dataset<Row> out = raw;
    for (Map.Entry<String, String> e : new java.util.TreeMap<>(source.personalColumns()).entrySet()) {
      String column = e.getKey();
      if (!List.of(raw.columns()).contains(column)) {
        throw ConfigException.of(
            "%s.personal_columns names '%s', which is not a column of %s; columns: %s", source.configKey(), column,
            source.path(), List.of(raw.columns()));
      }
      Column value = col(quote(column));
      Column replaced = e.getValue().equals("hash")
          ? functions.when(value.isNotNull(), saltedHash(value))
          : lit(null).cast("string");
      out = out.withColumn(column, replaced);
    }
    return out;
  }

  /**
   * Releases what the results of this validator cached (folded states, repeated keys): call it
   * once nothing built on the accepted rows or folded states is needed any more. Spark also drops
   * the cached data of every plan built on an unpersisted one, so releasing these while a cache of
   * the features derived from them is still in use makes the features be computed again.
   */
  public void releaseCaches() {
    cached.forEach(d -> d.unpersist(false));
    cached.clear();
  }

  /** Reads and validates the events source. */
  public ValidationResult events(SourceConfig source) {
    return events(source, null);
  }

  /**
   * Reads and validates the events source, running {@code fold} over the valid events in the
   * same pass, so a later stage need not read the events again.
   *
   * @param fold work on the valid events; null for none
   */
  public ValidationResult events(SourceConfig source, RowFold fold) {
    return validate(SourceReader.read(spark, source), source, Contract.EVENTS, fold);
  }

  /** Reads and validates the profiles source; an absent source gives empty results. */
  public ValidationResult profiles(SourceConfig source) {
    if (!source.isPresent()) {
      return new ValidationResult(emptyAccepted(Contract.PROFILES), emptyQuarantine(),
          SourceCounts.absent(source.name()));
    }
    return validate(source, Contract.PROFILES);
  }

  /** Validates an already loaded raw table (the tests feed inline rows this way). */
  public ValidationResult validate(Dataset<Row> raw, SourceConfig source, Contract.Table table) {
    return validate(raw, source, table, null);
  }

  /**
   * Validates an already loaded raw table, running {@code fold} over the valid rows in the same pass.
   *
   * @param fold work on the valid rows whose result {@link ValidationResult#folded()} returns; null for none
   */
  public ValidationResult validate(Dataset<Row> raw, SourceConfig source, Contract.Table table, RowFold fold) {
    Dataset<Row> scoped = pruneLaterPartitions(protect(raw, source), table);
    Dataset<Row> mapped = map(scoped, source, table);
    Dataset<Row> typed = convert(mapped, table);
    Dataset<Row> suppressed = suppressedUsers();
    typed = suppressed == null ? typed.withColumn(SUPPRESSED, lit(false))
        : typed.join(functions.broadcast(suppressed), typed.col("user_id").equalTo(suppressed.col("user_id")), "left_outer")
            .drop(suppressed.col("user_id"))
            .withColumn(SUPPRESSED, functions.coalesce(col(SUPPRESSED), lit(false)));
    List<Column> kept = new ArrayList<>();
    table.columnNames().forEach(n -> kept.add(col(n)));
    kept.addAll(List.of(col(KEEP), col(SUPPRESSED), col(SourceReader.SOURCE_FILE), col(REASON), col(DETAIL),
        // The source row as JSON is only needed, and only paid for, on quarantined rows.
        functions.when(col(REASON).isNotNull(), functions.to_json(col(SRC))).as(RAW)));
    // Not cached: caching every classified row cost more than evaluating the rules again (a
    // full in-memory copy of the events, 70 % of the run at 10M events). Each later pass reads
    // only the columns it needs; quarantined rows' full source is read only when there are any.
    Dataset<Row> classified = typed.withColumn(REASON, reasonColumn(mapped, table))
        .withColumn(DETAIL, detailColumn(table))
        .select(kept.toArray(Column[]::new));
    String key = table.dedupKey();

    // One pass counts the rows of each class, finds repeated keys and runs the fold, if any.
    // Valid rows' keys are hashed to 8 bytes and written as blocks per hash bucket, sorted and
    // compared with their neighbours after the shuffle: a shuffled row per event, or a hash
    // aggregate of unique keys, cost most of this stage. Rows without a hash are only counted.
    Column keep = col(KEEP);
    Column notSuppressed = functions.not(col(SUPPRESSED));
    Column validRow = keep.and(col(REASON).isNull()).and(notSuppressed);
    Column rowClass = functions.when(functions.not(keep), lit(CLASS_FILTERED))
        .when(col(SUPPRESSED), lit(CLASS_SUPPRESSED))
        .when(col(REASON).isNotNull(), col(REASON))
        .otherwise(lit(CLASS_PASSED));
    int partitions = Integer.parseInt(spark.conf().get("spark.sql.shuffle.partitions"));
    List<Column> passColumns = new ArrayList<>(List.of(rowClass.as("_class"),
        functions.when(validRow.and(col(key).isNotNull()), functions.xxhash64(col(key))).as("_h")));
    if (fold != null) {
      fold.columns().forEach(c -> passColumns.add(functions.expr(c)));
    }
    Dataset<Row> pass = classified.select(passColumns.toArray(Column[]::new));
    Dataset<Row> reduced = spark.createDataFrame(
            pass.queryExecution().toRdd().toJavaRDD().mapPartitions(new MapSide(fold, partitions)), PASS)
        .repartition(partitions, col("part"))
        .sortWithinPartitions("kind", "key")
        .mapPartitions(new ReduceSide(fold), org.apache.spark.sql.Encoders.row(PASS));
    if (fold != null) {
      // The folded states are read again by the features; the counts are collected from the same cache.
      reduced = reduced.persist(StorageLevel.MEMORY_AND_DISK());
      cached.add(reduced);
    }
    Dataset<Row> passResult = reduced;
    List<Row> classes = readable(() -> passResult.where(col("kind").lt(KIND_STATE)).collectAsList(), source);
    long read = 0;
    long filtered = 0;
    long suppressedRows = 0;
    long passed = 0;
    long repeatedHashes = 0;
    Map<String, Long> byReason = new HashMap<>();
    for (Row r : classes) {
      long n = r.getLong(3);
      if (r.getInt(0) == KIND_HASHES) {
        repeatedHashes += n;
        continue;
      }
      read += n;
      switch (r.getString(2)) {
        case CLASS_FILTERED -> filtered += n;
        case CLASS_SUPPRESSED -> suppressedRows += n;
        case CLASS_PASSED -> passed += n;
        default -> byReason.merge(r.getString(2), n, Long::sum);
      }
    }
    long quarantined = byReason.values().stream().mapToLong(Long::longValue).sum();

    Dataset<Row> valid = classified.where(validRow);
    Column[] contractColumns = table.columnNames().stream().map(functions::col).toArray(Column[]::new);
    Dataset<Row> accepted = valid.select(contractColumns);
    long duplicates = 0;
    if (repeatedHashes > 0) {
      // Equal hashes are candidates only; the keys themselves decide (rare, so a second pass).
      Dataset<Row> repeated = valid.where(col(key).isNotNull()).groupBy(col(key)).count()
          .where(col("count").gt(1)).persist(StorageLevel.MEMORY_AND_DISK());
      cached.add(repeated);
      Row extra = repeated.agg(functions.count(lit(1)), functions.sum(col("count").minus(1))).first();
      if (extra.getLong(0) > 0) {
        duplicates = extra.getLong(1);
        accepted = dedup(valid, repeated.select(key), table).select(contractColumns);
      }
    }
    Dataset<Row> folded = null;
    if (fold != null && duplicates == 0) {
      folded = reduced.where(col("kind").equalTo(KIND_STATE)).select(col("key"), col("blob"));
    } else if (fold != null) {
      // The states also folded rows that de-duplication drops: the fold's user reads the accepted rows.
      LOG.info("{}: {} duplicate rows, so the fold is recomputed from the accepted rows", table.name(), duplicates);
      reduced.unpersist(false);
    }
    long acceptedCount = passed - duplicates;

    Dataset<Row> quarantine = quarantined == 0 ? emptyQuarantine()
        : classified.where(keep.and(col(REASON).isNotNull()).and(notSuppressed))
            .select(lit(table.name()).as(SOURCE), col(SourceReader.SOURCE_FILE).as(SOURCE_FILE),
                col(REASON), col(DETAIL), col(RAW));
    SourceCounts counts = new SourceCounts(table.name(), read, filtered, acceptedCount, quarantined,
        duplicates, byReason, suppressedRows);
    LOG.info("{}: read {} rows, accepted {}, quarantined {} {}, duplicates {}, filtered {}, suppressed {}",
        table.name(), read, acceptedCount, quarantined, counts.byReasonSorted(), duplicates, filtered, suppressedRows);
    return new ValidationResult(accepted, quarantine, counts, folded);
  }

  /**
   * Runs the first action over a source, turning a file Spark cannot read (a CSV whose header
   * differs from the folder's other files, a corrupt Parquet footer) into an error that names the
   * file and the source instead of a stack trace.
   */
  private static <T> T readable(java.util.function.Supplier<T> action, SourceConfig source) {
    try {
      return action.get();
    } catch (Exception e) {
      Throwable t = e;
      while (t != null && !(t.getMessage() != null && t.getMessage().contains("FAILED_READ_FILE"))) {
        t = t.getCause();
      }
      if (t == null) {
        throw e;
      }
      String file = t.getMessage().lines().findFirst().orElse("");
      Throwable cause = t.getCause() != null ? t.getCause() : t;
      String why = ConfigException.firstLine(cause);
      throw new ConfigException(String.format(
          "%s: %s %s. The files of one source must share one header (the same columns in the same order);"
              + " move files of another layout to their own source or folder.", source.configKey(), file, why), e);
    }
  }

  private ValidationResult validate(SourceConfig source, Contract.Table table) {
    return validate(SourceReader.read(spark, source), source, table);
  }

  /** Hive-partitioned events: later dt= partitions belong to later runs and are not read. */
  private Dataset<Row> pruneLaterPartitions(Dataset<Row> raw, Contract.Table table) {
    if (table == Contract.EVENTS && List.of(raw.columns()).contains("dt")) {
      return raw.where(col("dt").isNull().or(col("dt").cast("date").leq(lit(java.sql.Date.valueOf(runDate)))));
    }
    return raw;
  }

  private Dataset<Row> map(Dataset<Row> raw, SourceConfig source, Contract.Table table) {
    for (String target : source.columns().keySet()) {
      if (table.column(target).isEmpty()) {
        throw ConfigException.of("%s.columns.%s: '%s' is not a column of the %s contract; contract columns are %s",
            source.configKey(), target, target, table.name(), table.columnNames());
      }
    }
    List<String> sourceColumns = new ArrayList<>();
    for (StructField f : raw.schema().fields()) {
      if (!f.name().equals(SourceReader.SOURCE_FILE) && !PARTITION_COLUMNS.contains(f.name())) {
        sourceColumns.add(f.name());
      }
    }
    boolean filtered = source.filter() != null && !source.filter().isBlank();
    Column keep = filtered
        ? functions.coalesce(checkedExpr(raw, source.filter(), source.configKey() + ".filter"), lit(false))
        : lit(true);
    List<Column> out = new ArrayList<>();
    for (Contract.Column c : table.columns()) {
      String sql = source.columns().get(c.name());
      Column mapped;
      if (sql != null) {
        mapped = checkedExpr(raw, sql, source.configKey() + ".columns." + c.name());
      } else if (sourceColumns.contains(c.name())) {
        mapped = col(quote(c.name()));
      } else if (c.required()) {
        throw ConfigException.of(
            "The %s input %s has no column '%s', which the contract requires. Map it with %s.columns.%s = \"<Spark SQL expression>\"; the source columns are %s",
            table.name(), source.path(), c.name(), source.configKey(), c.name(), sourceColumns);
      } else {
        mapped = lit(null).cast(DataTypes.StringType);
      }
      // Rows the filter leaves out are not mapped: a header line must not trip an ANSI cast.
      out.add((filtered ? functions.when(keep, mapped) : mapped).as(MAPPED + c.name()));
    }
    out.add(keep.as(KEEP));

    out.add(col(SourceReader.SOURCE_FILE));
    Column[] rawCols = sourceColumns.stream().map(n -> col(quote(n))).toArray(Column[]::new);
    out.add(functions.struct(rawCols).as(SRC));
    return raw.select(out.toArray(Column[]::new));
  }

  /** Resolves an expression now, so a typo fails at load with the config key in the message. */
  private static Column checkedExpr(Dataset<Row> raw, String sql, String key) {
    Column c;
    try {
      c = io.github.personas.pipeline.config.NamedExpr.column(sql);
      raw.select(c).schema();
    } catch (Exception e) {
      String first = ConfigException.firstLine(e);
      throw new ConfigException(String.format("%s = \"%s\" is not a valid Spark SQL expression over the source columns %s: %s",
          key, sql, List.of(raw.columns()), first), e);
    }
    return c;
  }

  private Dataset<Row> convert(Dataset<Row> mapped, Contract.Table table) {
    List<Column> out = new ArrayList<>();
    for (Contract.Column c : table.columns()) {
      String m = MAPPED + c.name();
      DataType type = mapped.schema().apply(m).dataType();
      out.add(typedColumn(c, m, type).as(c.name()));
      out.add(col(m));
    }
    out.add(col(KEEP));
    out.add(col(SourceReader.SOURCE_FILE));
    out.add(col(SRC));
    return mapped.select(out.toArray(Column[]::new));
  }

  private static Column typedColumn(Contract.Column c, String m, DataType type) {
    String q = quote(m);
    switch (c.kind()) {
      case STRING: {
        Column s = functions.trim(col(q).cast(DataTypes.StringType));
        if (c.name().equals(Contract.EVENT_NAME)) {
          s = functions.lower(s);
        }
        return functions.when(s.notEqual(lit("")), s);
      }
      case TIMESTAMP:
        if (type instanceof TimestampType) {
          return col(q);
        } else if (type instanceof TimestampNTZType || type instanceof DateType) {
          return col(q).cast(DataTypes.TimestampType);
        } else if (type instanceof NumericType) {
          return expr("timestamp_millis(CAST(" + q + " AS BIGINT))");
        }
        return expr("CASE WHEN trim(" + q + ") RLIKE '^-?[0-9]{9,}$' THEN timestamp_millis(try_cast(trim(" + q
            + ") AS BIGINT)) ELSE try_cast(trim(" + q + ") AS TIMESTAMP) END");
      case DOUBLE:
        return expr("try_cast(" + q + " AS DOUBLE)");
      case INT:
        return expr("try_cast(" + q + " AS INT)");
      case BOOLEAN:
        return expr("try_cast(" + q + " AS BOOLEAN)");
      case STRING_ARRAY:
        if (type instanceof org.apache.spark.sql.types.ArrayType) {
          return col(q).cast("array<string>");
        }
        return expr("CASE WHEN trim(" + q + ") = '' THEN NULL ELSE transform(split(" + q
            + ", '\\\\|'), x -> trim(x)) END");
      default:
        throw new IllegalStateException("Unhandled kind " + c.kind());
    }
  }

  /** Ordered (reason, condition) pairs; the first condition that holds names the reason. */
  private LinkedHashMap<String, String> rules(Contract.Table table, Dataset<Row> mapped) {
    LinkedHashMap<String, String> rules = new LinkedHashMap<>();
    for (Contract.Column c : table.columns()) {
      if (c.required()) {
        String m = quote(MAPPED + c.name());
        rules.put("missing_" + c.name(), quote(c.name()) + " IS NULL AND (" + m + " IS NULL"
            + (isText(mapped, c) ? " OR trim(" + m + ") = '')" : ")"));
      }
    }
    for (Contract.Column c : table.columns()) {
      // Only text can fail to convert: a Parquet timestamp or double is already its type, and
      // checking it through a string cast cost a timestamp format per row.
      if (c.kind() != Contract.Kind.STRING && c.kind() != Contract.Kind.STRING_ARRAY && isText(mapped, c)) {
        String prefix = c.kind() == Contract.Kind.TIMESTAMP ? "unparseable_" : "invalid_";
        String m = quote(MAPPED + c.name());
        rules.put(prefix + c.name(), m + " IS NOT NULL AND trim(" + m + ") <> '' AND " + quote(c.name()) + " IS NULL");
      }
    }
    for (Contract.Column c : table.columns()) {
      if (c.kind() == Contract.Kind.DOUBLE) {
        rules.put("non_finite_" + c.name(), "isnan(" + quote(c.name()) + ") OR abs(" + quote(c.name())
            + ") = double('Infinity')");
      }
    }
    if (table == Contract.EVENTS) {
      rules.put("purchase_without_revenue", "event_name = 'purchase' AND revenue IS NULL");
      rules.put("refund_without_revenue", "event_name = 'refund' AND revenue IS NULL");
      long endMicros = runDate.plusDays(1).atStartOfDay(ZoneOffset.UTC).toEpochSecond() * 1_000_000L;
      rules.put(EVENT_AFTER_RUN_DATE, "event_time >= timestamp_micros(" + endMicros + "L)");
    }
    return rules;
  }

  private static boolean isText(Dataset<Row> mapped, Contract.Column c) {
    return mapped.schema().apply(MAPPED + c.name()).dataType() instanceof org.apache.spark.sql.types.StringType;
  }

  private Column reasonColumn(Dataset<Row> mapped, Contract.Table table) {
    StringJoiner sql = new StringJoiner(" ", "CASE ", " END");
    rules(table, mapped).forEach((reason, cond) -> sql.add("WHEN " + cond + " THEN '" + reason + "'"));
    return expr(sql.toString());
  }

  private Column detailColumn(Contract.Table table) {
    StringJoiner sql = new StringJoiner(" ", "CASE ", " END");
    for (Contract.Column c : table.columns()) {
      String m = quote(MAPPED + c.name());
      String label = c.name();
      sql.add("WHEN " + REASON + " IN ('unparseable_" + label + "', 'invalid_" + label + "', 'non_finite_" + label
          + "') THEN concat('" + label + "=', left(CAST(" + m + " AS STRING), 200))");
      if (c.required()) {
        sql.add("WHEN " + REASON + " = 'missing_" + label + "' THEN '" + label + " is null or blank'");
      }
    }
    if (table == Contract.EVENTS) {
      sql.add("WHEN " + REASON + " = '" + EVENT_AFTER_RUN_DATE + "' THEN concat('event_time=', CAST(event_time AS STRING),"
          + " ' is after the run date " + runDate + "')");
      sql.add("WHEN " + REASON + " LIKE '%_without_revenue' THEN 'revenue is null'");
    }
    return expr(sql.toString());
  }

  /**
   * Keeps one row per dedup key, deterministically: the earliest, then by file and raw values.
   *
   * <p>Only the full rows of repeated keys go through the window (a full-row window over
   * every event cost minutes).
   */
  private static Dataset<Row> dedup(Dataset<Row> valid, Dataset<Row> repeated, Contract.Table table) {
    String key = table.dedupKey();
    // A join by column name: rows with a null key never match, so they all stay.
    scala.collection.immutable.Seq<String> on = scala.jdk.javaapi.CollectionConverters.asScala(List.of(key)).toSeq();
    Dataset<Row> single = valid.join(repeated, on, "left_anti");
    Column order = table == Contract.EVENTS ? col(Contract.EVENT_TIME) : col(Contract.INSTALL_TIME).asc_nulls_last();
    Column rank = functions.row_number().over(Window.partitionBy(col(key))
        .orderBy(order, col(SourceReader.SOURCE_FILE), functions.to_json(functions.struct(
            table.columnNames().stream().map(functions::col).toArray(Column[]::new)))));
    Dataset<Row> firstOfRepeated = valid.join(repeated, on).withColumn("_rank", rank)
        .where(col("_rank").equalTo(1)).drop("_rank");
    return single.unionByName(firstOfRepeated);
  }

  /** The schema of a contract table's accepted rows. */
  public static org.apache.spark.sql.types.StructType contractSchema(Contract.Table table) {
    StringJoiner ddl = new StringJoiner(", ");
    table.columns().forEach(c -> ddl.add(quote(c.name()) + " " + c.kind().sqlType()));
    return org.apache.spark.sql.types.StructType.fromDDL(ddl.toString());
  }

  private Dataset<Row> emptyAccepted(Contract.Table table) {
    return spark.createDataFrame(List.of(), contractSchema(table));
  }

  private Dataset<Row> emptyQuarantine() {
    return spark.createDataFrame(List.of(), org.apache.spark.sql.types.StructType.fromDDL(
        "source string, source_file string, reason string, detail string, raw string"));
  }

  static String quote(String name) {
    return "`" + name.replace("`", "``") + "`";
  }
}
