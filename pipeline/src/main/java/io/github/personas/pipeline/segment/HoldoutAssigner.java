package io.github.personas.pipeline.segment;

import io.github.personas.pipeline.config.PersonasConfig;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * Adds {@code holdout}: true for a stable, configured share of users kept out of campaigns.
 *
 * <p>Membership is {@code xxhash64(salt, user_id)} mapped to [0, 1) and compared with the share,
 * so a user stays in (or out of) the holdout in every run, whatever else changes, and a larger
 * share only adds users to the group.
 */
public final class HoldoutAssigner {

  public static final String HOLDOUT = "holdout";
  private static final long BUCKETS = 1_000_000L;

  private final PersonasConfig.Holdout config;

  public HoldoutAssigner(PersonasConfig.Holdout config) {
    if (config.share() < 0 || config.share() > 0.5) {
      throw new IllegalArgumentException(String.format("holdout share must be within [0, 0.5], got %s", config.share()));
    }
    this.config = config;
  }

  /** @param users a table with a user_id column */
  public Dataset<Row> apply(Dataset<Row> users) {
    long cut = Math.round(config.share() * BUCKETS);
    return users.withColumn(HOLDOUT, functions.pmod(
            functions.xxhash64(functions.lit(config.salt()), functions.col("user_id")), functions.lit(BUCKETS))
        .lt(cut));
  }
}
