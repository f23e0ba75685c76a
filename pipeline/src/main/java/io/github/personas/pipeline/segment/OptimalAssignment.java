package io.github.personas.pipeline.segment;

import java.util.Arrays;

/**
 * Minimum-cost assignment of rows to columns of a cost matrix (Hungarian algorithm, O(n³)).
 *
 * <p>Used to match tonight's persona centroids to the previous run's. k is at most 100, so the
 * cubic algorithm on the driver takes microseconds; no Spark job is involved.
 */
public final class OptimalAssignment {

  private OptimalAssignment() {}

  /**
   * Solves the assignment problem for a rectangular matrix.
   *
   * @param cost cost[i][j] of giving row i column j; all rows the same length, finite values
   * @return for each row the column given to it, or -1 when there are more rows than columns and
   *     the row got none; the sum of the chosen costs is minimal
   */
  public static int[] solve(double[][] cost) {
    int rows = cost.length;
    if (rows == 0) {
      return new int[0];
    }
    int cols = cost[0].length;
    for (double[] r : cost) {
      if (r.length != cols) {
        throw new IllegalArgumentException(String.format("cost rows must have the same length, got %s and %s",
            cols, r.length));
      }
      for (double v : r) {
        if (!Double.isFinite(v)) {
          throw new IllegalArgumentException(String.format("cost values must be finite, got %s", v));
        }
      }
    }
    // The classic potentials formulation needs rows <= columns; transpose otherwise.
    boolean transposed = rows > cols;
    double[][] a = transposed ? transpose(cost) : cost;
    int n = a.length;
    int m = a[0].length;
    double[] u = new double[n + 1];
    double[] v = new double[m + 1];
    int[] p = new int[m + 1];
    int[] way = new int[m + 1];
    for (int i = 1; i <= n; i++) {
      p[0] = i;
      int j0 = 0;
      double[] minv = new double[m + 1];
      Arrays.fill(minv, Double.POSITIVE_INFINITY);
      boolean[] used = new boolean[m + 1];
      do {
        used[j0] = true;
        int i0 = p[j0];
        double delta = Double.POSITIVE_INFINITY;
        int j1 = 0;
        for (int j = 1; j <= m; j++) {
          if (!used[j]) {
            double cur = a[i0 - 1][j - 1] - u[i0] - v[j];
            if (cur < minv[j]) {
              minv[j] = cur;
              way[j] = j0;
            }
            if (minv[j] < delta) {
              delta = minv[j];
              j1 = j;
            }
          }
        }
        for (int j = 0; j <= m; j++) {
          if (used[j]) {
            u[p[j]] += delta;
            v[j] -= delta;
          } else {
            minv[j] -= delta;
          }
        }
        j0 = j1;
      } while (p[j0] != 0);
      do {
        int j1 = way[j0];
        p[j0] = p[j1];
        j0 = j1;
      } while (j0 != 0);
    }
    int[] rowToCol = new int[n];
    Arrays.fill(rowToCol, -1);
    for (int j = 1; j <= m; j++) {
      if (p[j] != 0) {
        rowToCol[p[j] - 1] = j - 1;
      }
    }
    if (!transposed) {
      return rowToCol;
    }
    int[] result = new int[rows];
    Arrays.fill(result, -1);
    for (int c = 0; c < n; c++) {
      if (rowToCol[c] >= 0) {
        result[rowToCol[c]] = c;
      }
    }
    return result;
  }

  private static double[][] transpose(double[][] a) {
    double[][] t = new double[a[0].length][a.length];
    for (int i = 0; i < a.length; i++) {
      for (int j = 0; j < a[0].length; j++) {
        t[j][i] = a[i][j];
      }
    }
    return t;
  }
}
