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
 * and, for the others, each input's range, mean and standard deviation, transformed (as k-means
 * sees them): the moments that standardise the inputs too. The correlations come from the sample.
 */
public final class ClusteringInputs {

  private static final Logger LOG = LogManager.getLogger(ClusteringInputs.class);

  /**
   * What the pass found.
   *
   * @param ruleUsers users of each rule persona, in rule order
   * @param restUsers users no rule took: those clustered
   * @param constant  per input, in configuration order: whether every user clustered has the same value
   * @param value     per input: that value when constant (NaN when there is no user to cluster)
   * @param mean      per input: the mean among the users clustered, transformed (as k-means sees it)
   * @param sd        per input: the sample standard deviation among them, transformed (0 when
   *                  constant): what Spark's StandardScaler would measure in a pass of its own
   */
  public record Measured(long[] ruleUsers, long restUsers, boolean[] constant, double[] value, double[] mean,
                         double[] sd) {}

  /**
   * The inputs chosen.
   *
   * @param kept    the inputs k-means uses, in configuration order
   * @param leftOut one line per input left out, with the reason
   */
  public record Choice(List<String> kept, List<String> leftOut) {
    public Choice {
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
   * ({@code transformedPrefix}) value. A few aggregates per input: the covariances, one per pair
   * of inputs, cost 3.5 s on 500k users in this pass and are taken from the sample instead.
   */
  public static Measured measure(Dataset<Row> input, String ruleColumn, int rules,
                                 List<PersonasConfig.ClusterInput> inputs, String naturalPrefix,
                                 String transformedPrefix) {
    int d = inputs.size();
    List<Column> aggs = new ArrayList<>();
    for (PersonasConfig.ClusterInput f : inputs) {
      Column t = col(transformedPrefix + f.name());
      aggs.add(functions.min(col(naturalPrefix + f.name())));
      aggs.add(functions.max(col(naturalPrefix + f.name())));
      aggs.add(functions.avg(t));
      aggs.add(functions.stddev_samp(t));
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
    boolean[] constant = new boolean[d];
    double[] value = new double[d];
    double[] mean = new double[d];
    double[] sd = new double[d];
    for (int j = 0; j < d; j++) {
      int at = 2 + 4 * j;
      if (rest == null) {
        constant[j] = true;
        value[j] = Double.NaN;
        continue;
      }
      constant[j] = rest.getDouble(at) == rest.getDouble(at + 1);
      value[j] = rest.getDouble(at);
      mean[j] = rest.getDouble(at + 2);
      // Null for a single user.
      sd[j] = constant[j] || rest.isNullAt(at + 3) ? 0.0 : rest.getDouble(at + 3);
      constant[j] |= sd[j] == 0;
    }
    return new Measured(ruleUsers, rest == null ? 0 : rest.getLong(1), constant, value, mean, sd);
  }

  /**
   * The inputs k-means uses: those not constant, and of two near-duplicates the first listed,
   * judged on {@code sample} (per sampled user clustered, every input transformed, in
   * configuration order): at 20,000 users a correlation's standard error near 0.95 is below 0.001.
   */
  public static Choice choose(List<String> names, Measured measured, double[][] sample, double maxCorrelation) {
    int d = names.size();
    double[][] cov = covariance(sample, d);
    List<String> kept = new ArrayList<>();
    List<Integer> keptIndex = new ArrayList<>();
    List<String> leftOut = new ArrayList<>();
    for (int j = 0; j < d; j++) {
      String name = names.get(j);
      if (measured.constant()[j]) {
        leftOut.add(String.format(Locale.ROOT, "%s: the same value (%s) for every user clustered", name,
            Double.isNaN(measured.value()[j]) ? "none" : String.format(Locale.ROOT, "%.4g", measured.value()[j])));
        continue;
      }
      String twin = null;
      double r = 0;
      for (int i : keptIndex) {
        if (cov[i][i] <= 0 || cov[j][j] <= 0) {
          continue;
        }
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
    return new Choice(kept, leftOut);
  }

  /** The sample covariance matrix of {@code rows} (two passes: the means first). */
  static double[][] covariance(double[][] rows, int d) {
    double[] mean = new double[d];
    for (double[] r : rows) {
      for (int j = 0; j < d; j++) {
        mean[j] += r[j];
      }
    }
    for (int j = 0; j < d; j++) {
      mean[j] /= Math.max(1, rows.length);
    }
    double[][] cov = new double[d][d];
    for (double[] r : rows) {
      for (int i = 0; i < d; i++) {
        double a = r[i] - mean[i];
        for (int j = i; j < d; j++) {
          cov[i][j] += a * (r[j] - mean[j]);
        }
      }
    }
    for (int i = 0; i < d; i++) {
      for (int j = i; j < d; j++) {
        cov[i][j] /= Math.max(1, rows.length - 1);
        cov[j][i] = cov[i][j];
      }
    }
    return cov;
  }
}
