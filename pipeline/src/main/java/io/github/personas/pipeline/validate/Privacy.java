package io.github.personas.pipeline.validate;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.config.SourceConfig;
import io.github.personas.pipeline.engine.Caches;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/**
 * Personal data as a source is read: personal columns hashed with the salt or dropped before
 * anything else sees them, and the users of the suppression list marked so that none of their
 * rows reaches any output.
 */
final class Privacy {

  private static final Logger LOG = LogManager.getLogger(Privacy.class);

  /** Column marking the rows of suppressed users. */
  static final String SUPPRESSED = "_suppressed";

  /** Column naming the entry of the list a suppressed row matched (a hash of the id, never written). */
  static final String ENTRY = "_suppression_entry";

  private final SparkSession spark;
  private final PersonasConfig.Privacy config;
  private final Caches caches;
  private Dataset<Row> suppressedUsers;
  private long listed;

  Privacy(SparkSession spark, PersonasConfig.Privacy config, Caches caches) {
    this.spark = spark;
    this.config = config;
    this.caches = caches;
  }

  private Column saltedHash(Column value) {
    return UserIds.saltedHash(config.salt(), value);
  }

  /** Replaces personal source columns by their salted hash, or removes their values. */
  Dataset<Row> protect(Dataset<Row> raw, SourceConfig source) {
    Dataset<Row> out = raw;
    for (Map.Entry<String, String> e : new java.util.TreeMap<>(source.personalColumns()).entrySet()) {
      String column = e.getKey();
      if (!List.of(raw.columns()).contains(column)) {
        throw ConfigException.of(
            "%s.personal_columns names '%s', which is not a column of %s; columns: %s", source.configKey(), column,
            source.path(), List.of(raw.columns()));
      }
      // Trimmed before hashing, as ids are everywhere else: " u1" and "u1" are one person, and the
      // hashed form a suppression list or an erasure looks for is the trimmed one's.
      Column value = io.github.personas.pipeline.io.Trim.column(col(ContractValidator.quote(column)));
      Column replaced = e.getValue().equals("hash")
          ? functions.when(value.isNotNull().and(value.notEqual(lit(""))), saltedHash(value))
          : lit(null).cast("string");
      out = out.withColumn(column, replaced);
    }
    return out;
  }

  /** True when rows of {@code source} may hold personal data or a suppressed user's id. */
  boolean guards(SourceConfig source) {
    return !source.personalColumns().isEmpty() || config.suppresses();
  }

  /**
   * {@code typed} with a boolean {@value #SUPPRESSED} column (the row's user is on the suppression
   * list) and {@value #ENTRY}, which entry of the list matched it (null when none).
   */
  Dataset<Row> markSuppressed(Dataset<Row> typed) {
    Dataset<Row> suppressed = suppressedUsers();
    if (suppressed == null) {
      return typed.withColumn(SUPPRESSED, lit(false)).withColumn(ENTRY, lit(null).cast("bigint"));
    }
    return typed.join(functions.broadcast(suppressed), typed.col("user_id").equalTo(suppressed.col("user_id")),
            "left_outer")
        .drop(suppressed.col("user_id"))
        .withColumn(SUPPRESSED, col(ENTRY).isNotNull());
  }

  /** How many distinct ids the suppression list holds; 0 without a list. */
  long listedIds() {
    return suppressedUsers() == null ? 0 : listed;
  }

  /**
   * The distinct user ids of the suppression list, trimmed as the inputs' ids are, each with its
   * entry (a hash of the id as listed: the raw and the hashed form of one id are one entry), read
   * once; null without a list.
   */
  private Dataset<Row> suppressedUsers() {
    if (!config.suppresses()) {
      return null;
    }
    if (suppressedUsers == null) {
      String path = config.suppressionList();
      Dataset<Row> ids = UserIds.read(spark, path, config.suppressionFormat(), "personas.privacy.suppression_list")
          .withColumn(ENTRY, functions.xxhash64(col("user_id")));
      if (!config.salt().isBlank()) {
        // The list holds the ids people asked about (raw); where user_id is a hashed personal
        // column the events carry the hash, so both forms are matched, as one entry.
        ids = ids.unionByName(ids.select(saltedHash(col("user_id")).as("user_id"), col(ENTRY)));
      }
      suppressedUsers = caches.persist(ids.dropDuplicates("user_id"));
      // Counted from the cache, which this fills: the list file is read once.
      listed = suppressedUsers.select(ENTRY).distinct().count();
      LOG.info("Suppression list {}: {} distinct ids", path, listed);
    }
    return suppressedUsers;
  }
}
