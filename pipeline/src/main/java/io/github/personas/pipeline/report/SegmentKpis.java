package io.github.personas.pipeline.report;

import static org.apache.spark.sql.functions.col;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * KPIs per (dimension, segment): one row for each segment of each configured dimension.
 *
 * <p>Every dimension partitions the same users, so per dimension {@code users} and
 * {@code revenue} sum to the population totals.
 */
public final class SegmentKpis {

  public static final String DIMENSION = "dimension";
  public static final String SEGMENT = "segment";

  private final List<String> dimensions;

  /** @param dimensions columns of the segments table to report on, e.g. rfm_segment */
  public SegmentKpis(List<String> dimensions) {
    if (dimensions.isEmpty()) {
      throw new IllegalArgumentException("At least one report dimension is needed");
    }
    this.dimensions = List.copyOf(dimensions);
  }

  /**
   * @param segmented one row per user with the dimensions plus is_buyer, frequency, monetary,
   *                  sessions_30d and recency_days
   */
  public Dataset<Row> apply(Dataset<Row> segmented) {
    for (String d : dimensions) {
      if (!List.of(segmented.columns()).contains(d)) {
        throw new io.github.personas.pipeline.config.ConfigException(String.format(
            "personas.report.dimensions names '%s', which is not a column of the segments; available: %s",
            d, List.of(segmented.columns())));
      }
    }
    long total = segmented.count();
    List<Dataset<Row>> parts = new ArrayList<>();
    for (String d : dimensions) {
      parts.add(segmented.groupBy(functions.coalesce(col(d).cast("string"), functions.lit("(none)")).as(SEGMENT))
          .agg(
              functions.count(functions.lit(1)).as("users"),
              functions.sum(functions.when(col("is_buyer"), 1).otherwise(0)).cast("long").as("buyers"),
              functions.sum(col("frequency")).cast("long").as("orders"),
              functions.sum(col("monetary")).as("revenue"),
              functions.avg(col("sessions_30d")).as("sessions_per_user_30d"),
              functions.avg(col("recency_days")).as("mean_recency_days"))
          .select(
              functions.lit(d).as(DIMENSION),
              col(SEGMENT),
              col("users"),
              col("users").divide(functions.lit((double) Math.max(total, 1))).as("share"),
              col("buyers"),
              col("buyers").divide(col("users")).as("conversion_rate"),
              col("revenue"),
              col("revenue").divide(col("users")).as("arpu"),
              functions.when(col("orders").gt(0), col("revenue").divide(col("orders"))).as("avg_order_value"),
              functions.when(col("buyers").gt(0), col("orders").divide(col("buyers"))).as("orders_per_buyer"),
              col("sessions_per_user_30d"),
              col("mean_recency_days")));
    }
    Dataset<Row> all = parts.get(0);
    for (int i = 1; i < parts.size(); i++) {
      all = all.unionByName(parts.get(i));
    }
    return all.orderBy(col(DIMENSION), col("users").desc(), col(SEGMENT));
  }
}
