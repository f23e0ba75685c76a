package io.github.personas.pipeline.segment;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;

import io.github.personas.pipeline.config.PersonasConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

/**
 * R, F and M scores (1..5) by buyers' quintiles or fixed cut points, and a named RFM segment per user.
 *
 * <p>Scores compare a value with the 20/40/60/80 % cut points, so identical values always get
 * the same score (a quantile rank would split ties). Recency is reversed: recent = 5. Users who
 * never purchased get no score and the configured no-purchase segment.
 */
public final class RfmScorer {

  public static final String R_SCORE = "r_score";
  public static final String F_SCORE = "f_score";
  public static final String M_SCORE = "m_score";
  public static final String RFM_SEGMENT = "rfm_segment";
  public static final String SEGMENTS_KEY = "personas.rfm.segments";

  private static final double[] PROBABILITIES = {0.2, 0.4, 0.6, 0.8};

  private final PersonasConfig.Rfm config;
  private final RuleTable table;

  /** @param config the scoring and the ordered segment rules, checked by {@link #checkTable} */
  public RfmScorer(PersonasConfig.Rfm config) {
    this.config = config;
    this.table = new RuleTable(SEGMENTS_KEY, config.segments());
  }

  /**
   * Checks the segment table over all 125 score cells (see {@link RuleTable#checkCoverage}).
   *
   * @throws io.github.personas.pipeline.config.ConfigException on a gap or an unreachable rule
   */
  public void checkTable(SparkSession spark) {
    List<Row> cells = new ArrayList<>();
    for (int r = 1; r <= 5; r++) {
      for (int f = 1; f <= 5; f++) {
        for (int m = 1; m <= 5; m++) {
          cells.add(RowFactory.create(r, f, m));
        }
      }
    }
    Dataset<Row> grid = spark.createDataFrame(cells, StructType.fromDDL("r_score int, f_score int, m_score int"));
    table.checkCoverage(grid, row -> String.format("r_score=%d, f_score=%d, m_score=%d",
        row.getInt(0), row.getInt(1), row.getInt(2)));
  }

  /**
   * The upper bounds (inclusive) of scores 1..4 of each measure (for recency_days, of scores 5..2).
   *
   * @param recencyDays cut points of recency_days
   * @param frequency   cut points of frequency
   * @param monetary    cut points of monetary
   */
  public record CutPoints(double[] recencyDays, double[] frequency, double[] monetary) {}

  /**
   * A features table scored.
   *
   * @param users     the features with r_score, f_score, m_score and rfm_segment
   * @param cutPoints the cut points the scores come from
   */
  public record Scored(Dataset<Row> users, CutPoints cutPoints) {}

  /**
   * Adds r_score, f_score, m_score and rfm_segment to a features table.
   *
   * @param features needs recency_days, frequency, monetary
   */
  public Scored apply(Dataset<Row> features) {
    PersonasConfig.CutPoints fixed = config.cutPoints();
    List<List<Double>> fixedCuts = List.of(fixed.recencyDays(), fixed.frequency(), fixed.monetary());
    String[] measures = {"recency_days", "frequency", "monetary"};
    double[][] cuts = new double[3][];
    List<String> byQuantile = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      if (fixedCuts.get(i).isEmpty()) {
        byQuantile.add(measures[i]);
      } else {
        cuts[i] = fixedCuts.get(i).stream().mapToDouble(Double::doubleValue).toArray();
      }
    }
    if (!byQuantile.isEmpty()) {
      // One pass over the buyers for all measures scored by quantiles.
      double[][] q = features.where(col("frequency").gt(0)).stat().approxQuantile(
          byQuantile.toArray(String[]::new), PROBABILITIES, config.quantileRelativeError());
      for (int i = 0, j = 0; i < 3; i++) {
        if (cuts[i] == null) {
          cuts[i] = q[j++];
        }
      }
    }
    return new Scored(scored(features, cuts), new CutPoints(cuts[0], cuts[1], cuts[2]));
  }

  /**
   * The columns {@link #apply} adds, with their types, on a features table with no rows: for
   * checking expressions that read them before any data is read.
   */
  public Dataset<Row> unscored(Dataset<Row> featuresSchema) {
    double[] none = new double[0];
    return scored(featuresSchema, new double[][] {none, none, none});
  }

  private Dataset<Row> scored(Dataset<Row> features, double[][] cuts) {
    String buyer = "frequency > 0";
    Dataset<Row> scored = features
        .withColumn(R_SCORE, expr("CASE WHEN " + buyer + " THEN " + score("recency_days", cuts[0], true) + " END"))
        .withColumn(F_SCORE, expr("CASE WHEN " + buyer + " THEN " + score("frequency", cuts[1], false) + " END"))
        .withColumn(M_SCORE, expr("CASE WHEN " + buyer + " THEN " + score("monetary", cuts[2], false) + " END"));
    return scored.withColumn(RFM_SEGMENT, expr("CASE WHEN " + buyer + " THEN "
        + table.labelSql() + " ELSE '" + config.noPurchaseSegment().replace("'", "\\'") + "' END"));
  }

  private static String score(String column, double[] cuts, boolean reversed) {
    StringJoiner above = new StringJoiner(" + ", "(", ")");
    for (double c : cuts) {
      above.add("CASE WHEN " + column + " > " + c + "D THEN 1 ELSE 0 END");
    }
    if (cuts.length == 0) {
      return reversed ? "5" : "1";
    }
    return reversed ? "CAST(5 - " + above + " AS INT)" : "CAST(1 + " + above + " AS INT)";
  }
}
