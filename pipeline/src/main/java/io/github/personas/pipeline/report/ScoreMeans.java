package io.github.personas.pipeline.report;

import static org.apache.spark.sql.functions.col;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * Mean predicted scores (P(alive), CLV, purchase propensity, churn risk) per segment, for the
 * report's cards: each mean is over the users of the segment who have that score.
 *
 * <p>One Spark job: users are summed per combination of the dimensions' values, and the few
 * combinations are rolled up per dimension on the driver, as {@link SegmentKpis} does.
 */
public final class ScoreMeans {

  private static final Pattern PROPENSITY = Pattern.compile("purchase_propensity_(\\d+)d");
  private static final Pattern CHURN = Pattern.compile("churn_risk_(\\d+)d");

  private ScoreMeans() {}

  /**
   * The score columns the report shows, as far as the predictions have them; each null when absent.
   *
   * @param pAlive             p_alive
   * @param clv                the CLV of the longest horizon, e.g. clv_365d
   * @param clvDays            its horizon in days
   * @param purchasePropensity purchase_propensity_&lt;H&gt;d
   * @param churnRisk          churn_risk_&lt;H&gt;d
   * @param propensityDays     H, the horizon of purchase propensity (of churn risk when there is no propensity)
   */
  public record Columns(String pAlive, String clv, Integer clvDays, String purchasePropensity, String churnRisk,
                        Integer propensityDays) {

    /** No predictions: nothing to show. */
    public static final Columns NONE = new Columns(null, null, null, null, null, null);

    /**
     * The columns among {@code columns} (the predictions' schema): CLV of the longest of
     * {@code horizonsDays}; propensity and churn risk of whatever horizon their names carry,
     * since the predictions may come from a run with another configuration (read back).
     */
    public static Columns of(Collection<String> columns, List<Integer> horizonsDays) {
      String pAlive = columns.contains("p_alive") ? "p_alive" : null;
      Integer clvDays = horizonsDays.stream().max(Comparator.naturalOrder())
          .filter(h -> columns.contains("clv_" + h + "d")).orElse(null);
      String propensity = null;
      String churn = null;
      Integer propensityDays = null;
      Integer churnDays = null;
      for (String c : columns.stream().sorted().toList()) {
        Matcher p = PROPENSITY.matcher(c);
        Matcher r = CHURN.matcher(c);
        if (propensity == null && p.matches()) {
          propensity = c;
          propensityDays = Integer.valueOf(p.group(1));
        } else if (churn == null && r.matches()) {
          churn = c;
          churnDays = Integer.valueOf(r.group(1));
        }
      }
      return new Columns(pAlive, clvDays == null ? null : "clv_" + clvDays + "d", clvDays, propensity, churn,
          propensityDays != null ? propensityDays : churnDays);
    }

    /** The columns present, in the order of {@link ReportData.SegmentScores}. */
    public List<String> present() {
      List<String> out = new ArrayList<>();
      for (String c : new String[] {pAlive, clv, purchasePropensity, churnRisk}) {
        if (c != null) {
          out.add(c);
        }
      }
      return out;
    }
  }

  /**
   * Mean scores per segment of each of {@code dimensions}.
   *
   * @param users one row per user with the dimensions and the score columns of {@code scores}
   * @return one row per (dimension, segment), largest segment first within a dimension; empty when
   *         there is no score column
   */
  public static List<ReportData.SegmentScores> apply(Dataset<Row> users, List<String> dimensions, Columns scores) {
    List<String> present = scores.present();
    if (present.isEmpty() || dimensions.isEmpty()) {
      return List.of();
    }
    List<Column> keys = new ArrayList<>();
    for (String d : dimensions) {
      keys.add(functions.coalesce(col(d).cast("string"), functions.lit(SegmentKpis.NONE)).as(d));
    }
    List<Column> aggs = new ArrayList<>();
    for (String s : present) {
      aggs.add(functions.count(col(s)).as("n_" + s));
      aggs.add(functions.coalesce(functions.sum(col(s).cast("double")), functions.lit(0.0)).as("s_" + s));
    }
    List<Row> combinations = users.groupBy(keys.toArray(Column[]::new))
        .agg(functions.count(functions.lit(1)).as("users"), aggs.toArray(Column[]::new)).collectAsList();

    List<ReportData.SegmentScores> out = new ArrayList<>();
    for (int i = 0; i < dimensions.size(); i++) {
      // segment -> users, then (count, sum) per score
      Map<String, double[]> sums = new LinkedHashMap<>();
      for (Row r : combinations) {
        double[] t = sums.computeIfAbsent(r.getString(i), s -> new double[1 + 2 * present.size()]);
        t[0] += r.getLong(dimensions.size());
        for (int j = 0; j < present.size(); j++) {
          t[1 + 2 * j] += r.getLong(dimensions.size() + 1 + 2 * j);
          t[2 + 2 * j] += r.getDouble(dimensions.size() + 2 + 2 * j);
        }
      }
      List<ReportData.SegmentScores> rows = new ArrayList<>();
      for (Map.Entry<String, double[]> e : sums.entrySet()) {
        double[] t = e.getValue();
        Map<String, Double> means = new LinkedHashMap<>();
        for (int j = 0; j < present.size(); j++) {
          means.put(present.get(j), t[1 + 2 * j] == 0 ? null : t[2 + 2 * j] / t[1 + 2 * j]);
        }
        rows.add(new ReportData.SegmentScores(dimensions.get(i), e.getKey(), (long) t[0], mean(means, scores.pAlive()),
            mean(means, scores.clv()), mean(means, scores.purchasePropensity()), mean(means, scores.churnRisk())));
      }
      rows.sort(Comparator.comparingLong(ReportData.SegmentScores::users).reversed()
          .thenComparing(ReportData.SegmentScores::segment));
      out.addAll(rows);
    }
    return out;
  }

  private static Double mean(Map<String, Double> means, String column) {
    return column == null ? null : means.get(column);
  }
}
