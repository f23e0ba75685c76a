package io.github.personas.pipeline.report;

import static org.apache.spark.sql.functions.col;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * Users moving between segments from the previous run to this one, per dimension.
 *
 * <p>A full outer join on user_id, so users who appeared count as coming from {@value #NEW} and
 * users who disappeared as going to {@value #GONE}: per dimension, the counts of each
 * {@code from_segment} sum to the previous run's segment sizes and those of each
 * {@code to_segment} to this run's.
 */
public final class SegmentTransitions {

  /** from_segment of users not in the previous run. */
  public static final String NEW = "(new)";
  /** to_segment of users not in this run. */
  public static final String GONE = "(gone)";

  private final List<String> dimensions;

  /** @param dimensions columns present in both runs' users tables */
  public SegmentTransitions(List<String> dimensions) {
    if (dimensions.isEmpty()) {
      throw new IllegalArgumentException("At least one dimension is needed");
    }
    this.dimensions = List.copyOf(dimensions);
  }

  /**
   * @param today        this run's users (user_id and the dimensions)
   * @param previous     the previous run's users, or null on a first run (everyone is new)
   * @param previousDate the previous run's date, or null
   * @return dimension, from_segment, to_segment, users, previous_date
   */
  public Dataset<Row> apply(Dataset<Row> today, Dataset<Row> previous, String previousDate) {
    // Each side's key under its own name: a previous side that descends from the same plan as
    // today's (the same features, re-read) would otherwise have "the same" user_id to Spark, and
    // the join condition would be trivially true.
    List<Column> todayCols = new ArrayList<>(List.of(col("user_id").as("t_user_id"),
        functions.lit(true).as("t_present")));
    List<Column> prevCols = new ArrayList<>(List.of(col("user_id").as("p_user_id"),
        functions.lit(true).as("p_present")));
    for (String d : dimensions) {
      todayCols.add(col(d).cast("string").as("t_" + d));
      prevCols.add(col(d).cast("string").as("p_" + d));
    }
    Dataset<Row> t = today.select(todayCols.toArray(Column[]::new));
    Dataset<Row> joined;
    if (previous != null) {
      Dataset<Row> p = previous.select(prevCols.toArray(Column[]::new));
      joined = t.join(p, t.col("t_user_id").equalTo(p.col("p_user_id")), "full_outer");
    } else {
      // No previous run: everyone comes from (new), so no join, only the previous side's columns
      // as nulls (a join with an empty copy of today's users was a self-join Spark warned about).
      joined = t.withColumn("p_present", functions.lit(null).cast("boolean"));
      for (String d : dimensions) {
        joined = joined.withColumn("p_" + d, functions.lit(null).cast("string"));
      }
    }
    List<Column> moves = new ArrayList<>();
    for (String d : dimensions) {
      moves.add(functions.struct(functions.lit(d).as("dimension"),
          side(joined, "p_", d, NEW).as("from_segment"), side(joined, "t_", d, GONE).as("to_segment")));
    }
    return joined.select(functions.explode(functions.array(moves.toArray(Column[]::new))).as("m"))
        .groupBy(col("m.dimension").as("dimension"), col("m.from_segment").as("from_segment"),
            col("m.to_segment").as("to_segment"))
        .agg(functions.count(functions.lit(1)).as("users"))
        .withColumn("previous_date", functions.lit(previousDate).cast("string"))
        .orderBy("dimension", "from_segment", "to_segment");
  }

  private static Column side(Dataset<Row> joined, String prefix, String d, String absent) {
    return functions.when(joined.col(prefix + "present").isNull(), functions.lit(absent))
        .otherwise(functions.coalesce(joined.col(prefix + d), functions.lit(SegmentKpis.NONE)));
  }
}
