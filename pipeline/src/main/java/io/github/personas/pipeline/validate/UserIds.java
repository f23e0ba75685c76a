package io.github.personas.pipeline.validate;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.io.Trim;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/**
 * Lists of user ids people asked about (a suppression list, an erasure request), read the way the
 * inputs' ids are: trimmed by {@link Trim}, blanks dropped, and matched in raw and hashed form.
 */
public final class UserIds {

  private UserIds() {}

  /** The formats a list of ids can have: one id per line, CSV with a user_id header, or Parquet. */
  public static final List<String> FORMATS = List.of("text", "csv", "parquet");

  /**
   * The distinct ids of a list, as one string column {@code user_id}.
   *
   * @param format one of {@link #FORMATS}
   * @param what   the setting or option that named the list, for errors
   * @throws ConfigException when the list cannot be read or has no user_id column
   */
  public static Dataset<Row> read(SparkSession spark, String path, String format, String what) {
    Dataset<Row> list;
    try {
      list = switch (format) {
        case "text" -> spark.read().text(path).select(col("value").as("user_id"));
        case "csv" -> spark.read().option("header", "true").csv(path);
        case "parquet" -> spark.read().parquet(path);
        default -> throw ConfigException.of("%s: unknown format '%s'; one of %s", what, format, FORMATS);
      };
    } catch (ConfigException e) {
      throw e;
    } catch (Exception e) {
      throw ConfigException.of("Cannot read %s %s as %s: %s", what, path, format, ConfigException.firstLine(e));
    }
    if (!List.of(list.columns()).contains("user_id")) {
      throw ConfigException.of("%s %s has no user_id column; columns: %s", what, path, List.of(list.columns()));
    }
    // Trimmed like the inputs' user_id, whatever the list's format: a CSV list whose ids carried
    // spaces matched only the users whose events happened to carry them too.
    return list.select(Trim.column(col("user_id").cast("string")).as("user_id"))
        .where(col("user_id").isNotNull().and(col("user_id").notEqual(lit(""))))
        .distinct();
  }

  /** sha2(salt || value, 256): the one form of a hashed personal value, in columns and in lists of ids. */
  public static Column saltedHash(String salt, Column value) {
    return functions.sha2(functions.concat(lit(salt), value.cast("string")), 256);
  }
}
