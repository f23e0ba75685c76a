package io.github.personas.pipeline.validate;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.config.SourceConfig;
import io.github.personas.pipeline.engine.Caches;
import io.github.personas.pipeline.engine.Fold;
import io.github.personas.pipeline.engine.KeyedPass;
import io.github.personas.pipeline.io.Contract;
import io.github.personas.pipeline.io.JsonLines;
import io.github.personas.pipeline.io.Trim;
import io.github.personas.pipeline.io.SourceReader;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.StringJoiner;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.DateType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.TimestampNTZType;
import org.apache.spark.sql.types.TimestampType;

/**
 * Maps a raw source onto a contract table, converts types and splits rows into accepted and
 * quarantined, with a reason code per quarantined row.
 *
 * <p>Reason codes, checked in this order (the first that applies is the row's reason):
 * <ul>
 *   <li>JSON Lines only, for a line that is not one well-formed object with unambiguous keys:
 *       {@code malformed_json}, {@code not_a_json_object}, {@code duplicate_json_key},
 *       {@code ambiguous_json_key} ({@link JsonLines});</li>
 *   <li>{@code missing_<column>}: a required column is null or blank;</li>
 *   <li>{@code unparseable_<column>}: a timestamp that is neither ISO-8601 text nor epoch millis;</li>
 *   <li>{@code invalid_<column>}: a number or flag that does not parse as its contract type;</li>
 *   <li>{@code non_finite_<column>}: NaN or infinite numbers;</li>
 *   <li>{@code epoch_seconds_not_millis} (events): an event time in January 1970 that, read as
 *       epoch seconds instead of milliseconds, lies between personas.quality.earliest_event_date
 *       and the end of the run date;</li>
 *   <li>{@code event_before_earliest_date} (events): before personas.quality.earliest_event_date;</li>
 *   <li>{@code implausible_revenue}: |revenue| above personas.quality.max_revenue_per_event;</li>
 *   <li>{@code purchase_without_revenue}, {@code refund_without_revenue} (events);</li>
 *   <li>{@code event_after_run_date}: an event later than the end of the run date, UTC (events).</li>
 * </ul>
 * A source that holds later days on purpose ({@link SourceConfig#holdsLaterDays()}) has its rows
 * after the run date skipped and counted as later days before any of these, unless the layout
 * dates the row's file (a {@code dt=} partition, a {@code ${date}} path): there such a row is
 * still {@code event_after_run_date}, a clock that is off.
 * Of accepted rows with the same dedup key ({@code event_id} for events, {@code user_id} for
 * profiles) one is kept and the others are counted as duplicates: the earliest ({@code
 * event_time}; for profiles the earliest {@code install_time}, rows without one last), then the
 * first by source file name, then the first in the file. Nothing else is dropped, and
 * {@link SourceCounts#reconciles()} holds by construction and is checked by the tests.
 *
 * <p>The rules are Spark SQL over the source; one {@link KeyedPass} applies them, reading the
 * source once, and can fold the accepted rows by user in the same pass.
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
  public static final String EVENT_BEFORE_EARLIEST_DATE = "event_before_earliest_date";
  public static final String EPOCH_SECONDS_NOT_MILLIS = "epoch_seconds_not_millis";

  private static final String MAPPED = "m__";
  private static final String KEEP = "_keep";
  private static final String SRC = "_src";
  private static final Set<String> PARTITION_COLUMNS = Set.of("dt");

  /** Row classes besides the reason codes; a reason code never starts with '~'. */
  private static final String CLASS_FILTERED = "~filtered";
  // Followed by the entry of the suppression list the row matched, so the pass also tells which
  // entries matched a user.
  private static final String CLASS_SUPPRESSED = "~suppressed:";
  private static final String CLASS_PASSED = "~passed";
  private static final String CLASS_LATER_DAYS = "~later_days";
  /** True on a row after the run date in a source that holds later days, in a file of no known day. */
  private static final String LATER = "_later";
  /** True on a row whose file's day the layout gives: a dt= partition or a ${date} path. */
  private static final String DATED = "_dated";

  private final SparkSession spark;
  private final LocalDate runDate;
  private final Privacy privacy;
  private final Caches caches;
  private final double maxRevenue;
  private final LocalDate earliestEventDate;

  /**
   * @param spark   the session
   * @param runDate the logical run date; events after its end (UTC) are quarantined
   * @param caches  owner of what validation caches and broadcasts
   */
  public ContractValidator(SparkSession spark, LocalDate runDate, Caches caches) {
    this(spark, runDate, PersonasConfig.Privacy.NONE, caches);
  }

  /**
   * @param spark   the session
   * @param runDate the logical run date; events after its end (UTC) are quarantined
   * @param privacy the hashing salt and the suppression list
   * @param caches  owner of what validation caches and broadcasts
   */
  public ContractValidator(SparkSession spark, LocalDate runDate, PersonasConfig.Privacy privacy, Caches caches) {
    this(spark, runDate, privacy, PersonasConfig.Quality.DEFAULT_MAX_REVENUE_PER_EVENT, caches);
  }

  /**
   * @param maxRevenue the largest |revenue| of one event; larger is {@code implausible_revenue}
   */
  public ContractValidator(SparkSession spark, LocalDate runDate, PersonasConfig.Privacy privacy, double maxRevenue,
                           Caches caches) {
    this(spark, runDate, privacy, maxRevenue, PersonasConfig.Quality.DEFAULT_EARLIEST_EVENT_DATE, caches);
  }

  /**
   * @param maxRevenue        the largest |revenue| of one event; larger is {@code implausible_revenue}
   * @param earliestEventDate events before its start (UTC) are {@code event_before_earliest_date},
   *                          or {@code epoch_seconds_not_millis}
   * @throws ConfigException when the earliest event date is after the run date: every event would be quarantined
   */
  public ContractValidator(SparkSession spark, LocalDate runDate, PersonasConfig.Privacy privacy, double maxRevenue,
                           LocalDate earliestEventDate, Caches caches) {
    this.maxRevenue = maxRevenue;
    this.earliestEventDate = Objects.requireNonNull(earliestEventDate, "earliestEventDate");
    if (earliestEventDate.isAfter(runDate)) {
      throw ConfigException.of("personas.quality.earliest_event_date %s is after the run date %s: every event would be"
          + " quarantined as %s. For data older than that, set it to a date at or before the first real event.",
          earliestEventDate, runDate, EVENT_BEFORE_EARLIEST_DATE);
    }
    this.spark = Objects.requireNonNull(spark, "spark");
    this.runDate = Objects.requireNonNull(runDate, "runDate");
    this.caches = Objects.requireNonNull(caches, "caches");
    this.privacy = new Privacy(spark, privacy, caches);
  }

  /** Reads and validates the events source; the result holds the accepted rows. */
  public ValidationResult events(SourceConfig source) {
    return events(source, null);
  }

  /**
   * Reads and validates the events source, folding the accepted events by user in the same pass.
   *
   * @param fold the per-user fold; null for the accepted rows themselves
   */
  public ValidationResult events(SourceConfig source, Fold<?> fold) {
    SourceReader.Read read = SourceReader.read(spark, source);
    return validate(read.rows(), source, Contract.EVENTS, fold).withWarnings(read.warnings());
  }

  /** Reads and validates the profiles source; an absent source gives empty results. */
  public ValidationResult profiles(SourceConfig source) {
    if (!source.isPresent()) {
      return new ValidationResult(emptyAccepted(Contract.PROFILES), emptyQuarantine(),
          SourceCounts.absent(source.name()), false);
    }
    SourceReader.Read read = SourceReader.read(spark, source);
    return validate(read.rows(), source, Contract.PROFILES, null).withWarnings(read.warnings());
  }

  /**
   * How many ids the suppression list holds and how many of them matched a row of {@code results}
   * (the events and profiles this validator read).
   */
  public SuppressionCounts suppression(ValidationResult... results) {
    java.util.Set<Long> matched = new java.util.HashSet<>();
    for (ValidationResult r : results) {
      matched.addAll(r.suppressionEntries());
    }
    SuppressionCounts counts = new SuppressionCounts(privacy.listedIds(), matched.size());
    if (counts.listed() > 0) {
      LOG.info("Suppression list: {} ids, {} matched a user of this run's input, {} matched none",
          counts.listed(), counts.matched(), counts.unmatched());
    }
    return counts;
  }

  /** Validates an already loaded raw table (the tests feed inline rows this way). */
  public ValidationResult validate(Dataset<Row> raw, SourceConfig source, Contract.Table table) {
    return validate(raw, source, table, null);
  }

  /**
   * Validates an already loaded raw table in one pass over it.
   *
   * @param fold the per-user fold of the accepted rows, or null for the accepted rows themselves
   */
  public ValidationResult validate(Dataset<Row> raw, SourceConfig source, Contract.Table table, Fold<?> fold) {
    Dataset<Row> classified = classify(raw, source, table);
    KeyedPass.Spec spec = passSpec(table, classified.schema(), skipsLaterDays(source, table));
    if (fold != null) {
      spec = spec.foldingBy(Contract.USER_ID);
    }
    KeyedPass.Spec s = spec;
    KeyedPass.Result pass = readable(() -> KeyedPass.run(classified, s, fold, caches), source);

    long read = 0;
    long filtered = 0;
    long suppressed = 0;
    long passed = 0;
    long laterDays = 0;
    Map<String, Long> byReason = new HashMap<>();
    java.util.Set<Long> entries = new java.util.HashSet<>();
    for (Map.Entry<String, Long> e : pass.classes().entrySet()) {
      long n = e.getValue();
      read += n;
      if (e.getKey().startsWith(CLASS_SUPPRESSED)) {
        suppressed += n;
        entries.add(Long.parseLong(e.getKey().substring(CLASS_SUPPRESSED.length())));
        continue;
      }
      switch (e.getKey()) {
        case CLASS_FILTERED -> filtered += n;
        case CLASS_PASSED -> passed += n;
        case CLASS_LATER_DAYS -> laterDays += n;
        default -> byReason.merge(e.getKey(), n, Long::sum);
      }
    }
    long quarantined = byReason.values().stream().mapToLong(Long::longValue).sum();
    long accepted = passed - pass.duplicates();
    SourceCounts counts = new SourceCounts(table.name(), read, filtered, accepted, quarantined, pass.duplicates(),
        byReason, suppressed, laterDays);
    LOG.info("{}: read {} rows, accepted {}, quarantined {} {}, duplicates {} (of {} repeated keys), filtered {},"
            + " suppressed {}, later days {}", table.name(), read, accepted, quarantined, counts.byReasonSorted(),
        pass.duplicates(), pass.repeatedKeys(), filtered, suppressed, laterDays);
    // The detail of a quarantined row is written from the values the pass set aside with it: its
    // expression, evaluated on every row in the pass, made the pass's generated code too large for
    // the JIT (the pass ran three times slower).
    Dataset<Row> quarantine = quarantined == 0 ? emptyQuarantine()
        : pass.side().select(lit(table.name()).as(SOURCE), col(SOURCE_FILE), col(REASON),
            detailColumn(table, source, pass.side().schema()).as(DETAIL), col(RAW));
    // The pass's order column for events is event_time in microseconds: its largest value over the
    // rows that passed is the latest event, counted as the map tasks go, not by a second read.
    java.time.Instant latest = table != Contract.EVENTS || pass.orderRange() == null ? null
        : java.time.Instant.EPOCH.plus(pass.orderRange().max(), java.time.temporal.ChronoUnit.MICROS);
    return new ValidationResult(pass.rows(), quarantine, counts, fold != null, entries, List.of(), latest);
  }

  /**
   * The source's rows in contract columns and types, with their filter, suppression, reason,
   * detail and (for quarantined rows only) raw JSON: lazily, nothing is read yet.
   */
  private Dataset<Row> classify(Dataset<Row> raw, SourceConfig source, Contract.Table table) {
    // Rows not read from files (inline test tables) have no file and block.
    for (String c : List.of(SourceReader.SOURCE_FILE, SourceReader.SOURCE_BLOCK)) {
      if (!List.of(raw.columns()).contains(c)) {
        raw = raw.withColumn(c, lit(null).cast(c.equals(SourceReader.SOURCE_FILE) ? "string" : "bigint"));
      }
    }
    Dataset<Row> scoped = pruneLaterPartitions(privacy.protect(raw, source), table);
    Dataset<Row> mapped = map(scoped, source, table);
    Dataset<Row> typed = privacy.markSuppressed(convert(mapped, table));
    List<Column> kept = new ArrayList<>();
    table.columnNames().forEach(n -> kept.add(col(quote(n))));
    table.columnNames().forEach(n -> kept.add(col(quote(MAPPED + n))));
    kept.addAll(List.of(col(KEEP), col(Privacy.SUPPRESSED), col(Privacy.ENTRY), col(SourceReader.SOURCE_FILE),
        col(SourceReader.SOURCE_BLOCK), col(REASON)));
    // The source row as JSON is only needed, and only paid for, on quarantined rows.
    Column json = functions.to_json(col(SRC));
    if (hasColumn(mapped, JsonLines.PROBLEM)) {
      kept.add(col(JsonLines.PROBLEM_DETAIL));
      // A bad JSON line has no columns to show: its text is the row. Under personal columns or a
      // suppression list it is left out, since which part of a broken line is personal, or whose
      // line it is, cannot be told.
      if (!privacy.guards(source)) {
        json = functions.coalesce(col(JsonLines.TEXT), json);
      }
    }
    kept.add(functions.when(col(REASON).isNotNull(), json).as(RAW));
    Column reason = reasonColumn(mapped, table);
    if (skipsLaterDays(source, table)) {
      // A later day's row is that day's run's to judge: it gets no reason here, so it is neither
      // quarantined nor turned into JSON, whatever else is wrong with it.
      long endMicros = runDate.plusDays(1).atStartOfDay(ZoneOffset.UTC).toEpochSecond() * 1_000_000L;
      typed = typed.withColumn(LATER, functions.coalesce(col(KEEP).and(functions.not(col(DATED)))
          .and(col(Contract.EVENT_TIME).geq(expr("timestamp_micros(" + endMicros + "L)"))), lit(false)));
      reason = functions.when(functions.not(col(LATER)), reason);
      kept.add(col(LATER));
    }
    return typed.withColumn(REASON, reason).select(kept.toArray(Column[]::new));
  }

  /** True when rows after the run date may be later days rather than a clock problem. */
  private static boolean skipsLaterDays(SourceConfig source, Contract.Table table) {
    // A ${date} path makes every file the run date's: no row of it can be a later day's.
    return table == Contract.EVENTS && source.holdsLaterDays() && !source.datedPath();
  }

  /**
   * True on rows whose file's day the layout gives: every row of a {@code ${date}} path, the rows
   * of {@code dt=} partitions; false on rows of any other file.
   */
  private static Column dated(Dataset<Row> raw, SourceConfig source) {
    if (source.datedPath()) {
      return lit(true);
    }
    return List.of(raw.columns()).contains("dt") ? col("dt").isNotNull() : lit(false);
  }

  /**
   * What the pass does with classified rows: classes, quarantine, the dedup key and its rule.
   *
   * @param laterDays the rows carry {@link #LATER}: later days come right after the filter, before
   *                  suppression and reasons, as if not read (a later {@code dt=} partition is not)
   */
  private static KeyedPass.Spec passSpec(Contract.Table table, StructType classified, boolean laterDays) {
    String rowClass = "CASE WHEN NOT " + KEEP + " THEN '" + CLASS_FILTERED + "'"
        + (laterDays ? " WHEN " + LATER + " THEN '" + CLASS_LATER_DAYS + "'" : "") + " WHEN " + Privacy.SUPPRESSED
        + " THEN concat('" + CLASS_SUPPRESSED + "', " + Privacy.ENTRY + ") WHEN " + REASON + " IS NOT NULL THEN " + REASON
        + " ELSE '" + CLASS_PASSED + "' END";
    String quarantined = KEEP + " AND NOT " + Privacy.SUPPRESSED + " AND " + REASON + " IS NOT NULL";
    // A quarantined row keeps its file, reason and source JSON, and what its detail is written from.
    List<String> aside = new ArrayList<>(List.of(SourceReader.SOURCE_FILE + " AS " + SOURCE_FILE, REASON, RAW));
    if (List.of(classified.fieldNames()).contains(JsonLines.PROBLEM_DETAIL)) {
      aside.add(JsonLines.PROBLEM_DETAIL);
    }
    if (table == Contract.EVENTS) {
      aside.add(quote(Contract.EVENT_TIME));
    }
    for (Contract.Column c : table.columns()) {
      String m = MAPPED + c.name();
      DataType type = classified.apply(m).dataType();
      aside.add(keepsItsType(type) ? quote(m) : "CAST(" + quote(m) + " AS STRING) AS " + quote(m));
    }
    // Of rows with one key the earliest is kept; a profile without an install time comes last.
    String order = table == Contract.EVENTS ? "unix_micros(" + Contract.EVENT_TIME + ")"
        : "coalesce(unix_micros(" + Contract.INSTALL_TIME + "), " + Long.MAX_VALUE + "L)";
    List<String> record = table.columnNames().stream().map(ContractValidator::quote).toList();
    return new KeyedPass.Spec(rowClass, CLASS_PASSED, quarantined, aside, quote(table.dedupKey()), List.of(order), SourceReader.SOURCE_FILE, SourceReader.SOURCE_BLOCK, null, record);
  }

  /** A type the pass sets aside as it is; others go as text, which is all a detail reads of them. */
  private static boolean keepsItsType(DataType t) {
    return t.equals(DataTypes.StringType) || t.equals(DataTypes.LongType) || t.equals(DataTypes.IntegerType)
        || t.equals(DataTypes.DoubleType) || t.equals(DataTypes.BooleanType) || t.equals(DataTypes.TimestampType)
        || t.equals(DataTypes.DateType)
        || (t instanceof org.apache.spark.sql.types.ArrayType a && a.elementType().equals(DataTypes.StringType));
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
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t.getMessage() != null && t.getMessage().contains("FAILED_READ_FILE")) {
          throw SourceReader.unreadable(source, e);
        }
      }
      throw e;
    }
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
      if (!SourceReader.ADDED_COLUMNS.contains(f.name()) && !PARTITION_COLUMNS.contains(f.name())) {
        sourceColumns.add(f.name());
      }
    }
    boolean lines = hasColumn(raw, JsonLines.PROBLEM);
    boolean filtered = source.filter() != null && !source.filter().isBlank();
    Column keep = filtered
        ? functions.coalesce(checkedExpr(raw, source.filter(), source.configKey() + ".filter"), lit(false))
        : lit(true);
    if (filtered && lines) {
      // A bad line has no values for the filter to judge: it is quarantined, never filtered out.
      keep = col(JsonLines.PROBLEM).isNotNull().or(keep);
    }
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
    out.add(dated(raw, source).as(DATED));

    out.add(col(SourceReader.SOURCE_FILE));
    out.add(col(SourceReader.SOURCE_BLOCK));
    if (lines) {
      List.of(JsonLines.PROBLEM, JsonLines.PROBLEM_DETAIL, JsonLines.TEXT).forEach(c -> out.add(col(c)));
    }
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
    out.add(col(DATED));
    out.add(col(SourceReader.SOURCE_FILE));
    out.add(col(SourceReader.SOURCE_BLOCK));
    out.add(col(SRC));
    if (hasColumn(mapped, JsonLines.PROBLEM)) {
      List.of(JsonLines.PROBLEM, JsonLines.PROBLEM_DETAIL, JsonLines.TEXT).forEach(c -> out.add(col(c)));
    }
    return mapped.select(out.toArray(Column[]::new));
  }

  private static Column typedColumn(Contract.Column c, String m, DataType type) {
    String q = quote(m);
    switch (c.kind()) {
      case STRING: {
        // The user id is trimmed of every Unicode blank (Trim), the identity of a user hangs on
        // it; other text of spaces only, as Trim's wider set costs the validate pass per value.
        Column s = c.name().equals(Contract.USER_ID) ? Trim.column(col(q))
            : functions.trim(col(q).cast(DataTypes.StringType));
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
            + (isText(mapped, c) ? " OR " + (c.name().equals(Contract.USER_ID) ? Trim.sql(m) : "trim(" + m + ")")
            + " = '')" : ")"));
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
      long earliestMicros = micros(earliestEventDate);
      long endMicros = micros(runDate.plusDays(1));
      // Epoch seconds read as milliseconds land in January 1970, a thousand times closer to the
      // epoch than meant: an event there that, as seconds, falls between the earliest date and the
      // end of the run date was sent in seconds. The earliest date is 1971 or later, so the two
      // ranges never meet.
      rules.put(EPOCH_SECONDS_NOT_MILLIS, "event_time >= timestamp_micros(" + earliestMicros / 1000 + "L) AND event_time"
          + " < timestamp_micros(" + endMicros / 1000 + "L)");
      rules.put(EVENT_BEFORE_EARLIEST_DATE, "event_time < timestamp_micros(" + earliestMicros + "L)");
      rules.put("implausible_revenue", "abs(revenue) > " + maxRevenue + "D");
      rules.put("purchase_without_revenue", "event_name = 'purchase' AND revenue IS NULL");
      rules.put("refund_without_revenue", "event_name = 'refund' AND revenue IS NULL");
      rules.put(EVENT_AFTER_RUN_DATE, "event_time >= timestamp_micros(" + endMicros + "L)");
    }
    return rules;
  }

  /** The start of {@code date}, UTC, in microseconds since the epoch. */
  private static long micros(LocalDate date) {
    return date.atStartOfDay(ZoneOffset.UTC).toEpochSecond() * 1_000_000L;
  }

  private static boolean hasColumn(Dataset<Row> df, String name) {
    return List.of(df.columns()).contains(name);
  }

  private static boolean isText(Dataset<Row> mapped, Contract.Column c) {
    return mapped.schema().apply(MAPPED + c.name()).dataType() instanceof org.apache.spark.sql.types.StringType;
  }

  private Column reasonColumn(Dataset<Row> mapped, Contract.Table table) {
    StringJoiner sql = new StringJoiner(" ", "CASE ", " END");
    if (hasColumn(mapped, JsonLines.PROBLEM)) {
      // A line that is not one good object has no values to check: what is wrong with it comes first.
      sql.add("WHEN " + JsonLines.PROBLEM + " IS NOT NULL THEN " + JsonLines.PROBLEM);
    }
    rules(table, mapped).forEach((reason, cond) -> sql.add("WHEN " + cond + " THEN '" + reason + "'"));
    return expr(sql.toString());
  }

  private Column detailColumn(Contract.Table table, SourceConfig source, StructType side) {
    StringJoiner sql = new StringJoiner(" ", "CASE ", " END");
    if (List.of(side.fieldNames()).contains(JsonLines.PROBLEM_DETAIL)) {
      String withheld = privacy.guards(source) ? ", ' (the line is not kept in raw: " + source.configKey()
          + ".personal_columns or personas.privacy.suppression_list)'" : "";
      sql.add("WHEN " + REASON + " IN ('" + String.join("', '", JsonLines.REASONS) + "') THEN left(concat("
          + JsonLines.PROBLEM_DETAIL + withheld + "), 200)");
    }
    for (Contract.Column c : table.columns()) {
      String m = quote(MAPPED + c.name());
      String label = c.name();
      sql.add("WHEN " + REASON + " IN ('unparseable_" + label + "', 'invalid_" + label + "', 'non_finite_" + label
          + "', 'implausible_" + label + "') THEN concat('" + label + "=', left(CAST(" + m + " AS STRING), 200))");
      if (c.required()) {
        sql.add("WHEN " + REASON + " = 'missing_" + label + "' THEN '" + label + " is null or blank'");
      }
    }
    if (table == Contract.EVENTS) {
      sql.add("WHEN " + REASON + " = '" + EVENT_AFTER_RUN_DATE + "' THEN concat('event_time=', CAST(event_time AS STRING),"
          + " ' is after the run date " + runDate + "')");
      sql.add("WHEN " + REASON + " LIKE '%_without_revenue' THEN 'revenue is null'");
      String raw = "left(CAST(" + quote(MAPPED + Contract.EVENT_TIME) + " AS STRING), 40)";
      sql.add("WHEN " + REASON + " = '" + EPOCH_SECONDS_NOT_MILLIS + "' THEN left(concat('event_time=', " + raw
          + ", ' is ', CAST(event_time AS STRING), ' as epoch milliseconds; as seconds it is ',"
          + " CAST(timestamp_micros(unix_micros(event_time) * 1000) AS STRING), ': send milliseconds, or map event_time"
          + " with timestamp_seconds()'), 200)");
      sql.add("WHEN " + REASON + " = '" + EVENT_BEFORE_EARLIEST_DATE + "' THEN concat('event_time=', " + raw
          + ", ' is before personas.quality.earliest_event_date " + earliestEventDate + "')");
    }
    return expr(sql.toString());
  }

  private Dataset<Row> emptyAccepted(Contract.Table table) {
    return spark.createDataFrame(List.of(), table.schema());
  }

  private Dataset<Row> emptyQuarantine() {
    return spark.createDataFrame(List.of(), org.apache.spark.sql.types.StructType.fromDDL(
        "source string, source_file string, reason string, detail string, raw string"));
  }

  static String quote(String name) {
    return "`" + name.replace("`", "``") + "`";
  }
}
