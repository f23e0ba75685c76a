package io.github.personas.pipeline.segment;

import static org.apache.spark.sql.functions.col;

import io.github.personas.pipeline.config.PersonasConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * Which configured clustering inputs fit the data: those that vary among the users to cluster,
 * and of two near-duplicates (|correlation| at least max_correlation once the other inputs kept
 * are accounted for) only the first listed.
 *
 * <p>A transaction-only data set has no sessions, so every session input is 0 for everyone; it
 * would add nothing to the distances but noise in the names, and a pair of inputs that say the
 * same thing would count it twice. One pass over the users gives the sizes of the rule personas
 * and, for the others, each input's range and the sums that give the correlations of the
 * transformed inputs (as k-means sees them).
 */
public final class ClusteringInputs {

  private static final Logger LOG = LogManager.getLogger(ClusteringInputs.class);

  /**
   * What the pass found.
   *
   * @param ruleUsers users of each rule persona, in rule order
   * @param restUsers users no rule took: those clustered
   * @param kept      the inputs k-means uses, in configuration order
   * @param leftOut   one line per input left out, with the reason
   */
  public record Measured(long[] ruleUsers, long restUsers, List<String> kept, List<String> leftOut) {
    public Measured {
      kept = List.copyOf(kept);
      leftOut = List.copyOf(leftOut);
    }
  }

  private ClusteringInputs() {}

  /**
   * The correlation of inputs i and j once the other kept inputs are accounted for (the plain
   * correlation when there are none): -P_ij / sqrt(P_ii P_jj), P the inverse of the covariance of
   * i, j and the others. Orders and money both 0 for every non-buyer correlate at 0.97 in app
   * data, but given the payer flag (kept earlier) at 0.90: among buyers money says more than orders.
   */
  static double partialCorrelation(double[][] cov, int i, int j, List<Integer> kept) {
    List<Integer> idx = new ArrayList<>(List.of(i, j));
    kept.stream().filter(k -> k != i && k != j).forEach(idx::add);
    int n = idx.size();
    double[][] a = new double[n][2 * n];
    for (int x = 0; x < n; x++) {
      for (int y = 0; y < n; y++) {
        a[x][y] = cov[idx.get(x)][idx.get(y)];
      }
      a[x][n + x] = 1;
    }
    // Gauss-Jordan with partial pivoting; a singular block (an input that is a combination of
    // the others) falls back to the plain correlation.
    for (int col = 0; col < n; col++) {
      int pivot = col;
      for (int row = col + 1; row < n; row++) {
        if (Math.abs(a[row][col]) > Math.abs(a[pivot][col])) {
          pivot = row;
        }
      }
      if (Math.abs(a[pivot][col]) < 1e-12) {
        return cov[i][j] / Math.sqrt(cov[i][i] * cov[j][j]);
      }
      double[] t = a[col];
      a[col] = a[pivot];
      a[pivot] = t;
      double d = a[col][col];
      for (int y = 0; y < 2 * n; y++) {
        a[col][y] /= d;
      }
      for (int row = 0; row < n; row++) {
        if (row != col && a[row][col] != 0) {
          double f = a[row][col];
          for (int y = 0; y < 2 * n; y++) {
            a[row][y] -= f * a[col][y];
          }
        }
      }
    }
    double pij = a[0][n + 1];
    double pii = a[0][n];
    double pjj = a[1][n + 1];
    return -pij / Math.sqrt(pii * pjj);
  }

  /**
   * Measures {@code input}: one row per user with the rule index in {@code ruleColumn} (null when
   * no rule took the user) and each input's natural ({@code naturalPrefix}) and transformed
   * ({@code transformedPrefix}) value.
   */
  public static Measured measure(Dataset<Row> input, String ruleColumn, int rules, List<PersonasConfig.ClusterInput> inputs,
                                 String naturalPrefix, String transformedPrefix, double maxCorrelation) {
    int d = inputs.size();
    List<Column> aggs = new ArrayList<>();
    for (PersonasConfig.ClusterInput f : inputs) {
      aggs.add(functions.min(col(naturalPrefix + f.name())));
      aggs.add(functions.max(col(naturalPrefix + f.name())));
      aggs.add(functions.sum(col(transformedPrefix + f.name())));
    }
    for (int i = 0; i < d; i++) {
      for (int j = i; j < d; j++) {
        aggs.add(functions.sum(col(transformedPrefix + inputs.get(i).name())
            .multiply(col(transformedPrefix + inputs.get(j).name()))));
      }
    }
    List<Row> rows = input.groupBy(col(ruleColumn)).agg(functions.count(functions.lit(1)),
        aggs.toArray(Column[]::new)).collectAsList();
    long[] ruleUsers = new long[rules];
    Row rest = null;
    for (Row r : rows) {
      if (r.isNullAt(0)) {
        rest = r;
      } else {
        ruleUsers[r.getInt(0)] = r.getLong(1);
      }
    }
    List<String> names = inputs.stream().map(PersonasConfig.ClusterInput::name).toList();
    if (rest == null) {
      return new Measured(ruleUsers, 0, names, List.of());
    }
    long n = rest.getLong(1);
    double[] mean = new double[d];
    boolean[] constant = new boolean[d];
    for (int j = 0; j < d; j++) {
      constant[j] = rest.isNullAt(2 + 3 * j) || rest.getDouble(2 + 3 * j) == rest.getDouble(3 + 3 * j);
      mean[j] = rest.getDouble(4 + 3 * j) / n;
    }
    double[][] cov = new double[d][d];
    int at = 2 + 3 * d;
    for (int i = 0; i < d; i++) {
      for (int j = i; j < d; j++) {
        cov[i][j] = rest.getDouble(at++) / n - mean[i] * mean[j];
        cov[j][i] = cov[i][j];
      }
    }
    List<String> kept = new ArrayList<>();
    List<Integer> keptIndex = new ArrayList<>();
    List<String> leftOut = new ArrayList<>();
    for (int j = 0; j < d; j++) {
      String name = names.get(j);
      if (constant[j] || cov[j][j] <= 0) {
        leftOut.add(String.format(Locale.ROOT, "%s: the same value (%s) for every user clustered", name,
            rest.isNullAt(2 + 3 * j) ? "none" : String.format(Locale.ROOT, "%.4g", rest.getDouble(2 + 3 * j))));
        continue;
      }
      String twin = null;
      double r = 0;
      for (int i : keptIndex) {
        double c = partialCorrelation(cov, i, j, keptIndex);
        if (Math.abs(c) >= maxCorrelation) {
          twin = names.get(i);
          r = c;
          break;
        }
      }
      if (twin != null) {
        leftOut.add(String.format(Locale.ROOT, "%s: correlated with %s (r = %.3f given the other inputs kept,"
            + " personas.personas.max_correlation = %s), which is kept", name, twin, r, maxCorrelation));
        continue;
      }
      kept.add(name);
      keptIndex.add(j);
    }
    for (String line : leftOut) {
      LOG.info("Clustering input left out: {}", line);
    }
    return new Measured(ruleUsers, n, kept, leftOut);
  }
}
