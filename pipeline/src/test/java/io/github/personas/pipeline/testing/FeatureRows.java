package io.github.personas.pipeline.testing;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/** Features tables in a shape tests can compare row by row. */
public final class FeatureRows {

  private FeatureRows() {}

  /**
   * {@code features} with the category map as its entries sorted by category: Spark's set
   * operations (exceptAll) refuse map columns, not their entries.
   */
  public static Dataset<Row> setComparable(Dataset<Row> features) {
    return features.withColumn("category_events",
        functions.array_sort(functions.map_entries(features.col("category_events"))));
  }
}
