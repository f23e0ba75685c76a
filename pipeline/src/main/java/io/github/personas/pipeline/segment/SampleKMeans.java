package io.github.personas.pipeline.segment;

import java.util.Arrays;
import java.util.Random;

/**
 * K-means on a small in-memory sample, for choosing k: k-means++ seeding, Lloyd iterations, and
 * the squared-Euclidean silhouette that Spark's {@code ClusteringEvaluator} computes.
 *
 * <p>The selection sample is a few tens of thousands of users. Fitting it with Spark MLlib cost
 * some thirty small Spark jobs per candidate k (300 for k in 3..12), most of the segment stage;
 * here a candidate takes milliseconds. The final model is still fitted by Spark on every user.
 */
public final class SampleKMeans {

  /**
   * One fitted candidate.
   *
   * @param centers    cluster centres, k rows
   * @param assignment cluster of each point
   * @param sizes      points per cluster
   * @param cost       sum of squared distances of points to their centre
   */
  public record Fit(double[][] centers, int[] assignment, long[] sizes, double cost) {
    /** Clusters with at least one point. */
    public int found() {
      return (int) Arrays.stream(sizes).filter(s -> s > 0).count();
    }
  }

  /** k-means++ starts per fit, the best (lowest cost) kept; scikit-learn's long-time default. */
  static final int STARTS = 10;

  private final int maxIterations;
  private final double tolerance;
  private final long seed;

  /**
   * @param maxIterations Lloyd iterations at most (at least 1)
   * @param tolerance     stop when no centre moves farther than this (Euclidean, input units);
   *                      Spark's default is 1e-4
   * @param seed          seed of the k-means++ seeding, so a run is reproducible
   */
  public SampleKMeans(int maxIterations, double tolerance, long seed) {
    if (maxIterations < 1) {
      throw new IllegalArgumentException(String.format("maxIterations must be at least 1, got %s", maxIterations));
    }
    if (!(tolerance >= 0)) {
      throw new IllegalArgumentException(String.format("tolerance must be >= 0, got %s", tolerance));
    }
    this.maxIterations = maxIterations;
    this.tolerance = tolerance;
    this.seed = seed;
  }

  /**
   * Fits k clusters to {@code points} (rows of equal length).
   *
   * @throws IllegalArgumentException when k is not in 1..points.length
   */
  public Fit fit(double[][] points, int k) {
    int n = points.length;
    if (k < 1 || k > n) {
      throw new IllegalArgumentException(String.format("k must be in 1..%s (the number of points), got %s", n, k));
    }
    // One k-means++ start can settle in a poor local optimum, and then the curve, and so the
    // chosen k, would wobble from night to night; the best of several starts does not.
    Random random = new Random(seed + 31L * k);
    Fit best = null;
    for (int start = 0; start < STARTS; start++) {
      Fit fit = fitOnce(points, k, random);
      if (best == null || fit.cost() < best.cost()) {
        best = fit;
      }
    }
    return best;
  }

  private Fit fitOnce(double[][] points, int k, Random random) {
    int n = points.length;
    double[][] centers = seedPlusPlus(points, k, random);
    int[] assignment = new int[n];
    int d = points[0].length;
    for (int iter = 0; iter < maxIterations; iter++) {
      assign(points, centers, assignment);
      double[][] sums = new double[k][d];
      long[] counts = new long[k];
      for (int i = 0; i < n; i++) {
        counts[assignment[i]]++;
        double[] s = sums[assignment[i]];
        for (int j = 0; j < d; j++) {
          s[j] += points[i][j];
        }
      }
      boolean moved = false;
      for (int c = 0; c < k; c++) {
        if (counts[c] == 0) {
          continue; // an empty cluster keeps its centre, as in Spark
        }
        for (int j = 0; j < d; j++) {
          sums[c][j] /= counts[c];
        }
        if (Math.sqrt(sqdist(sums[c], centers[c])) > tolerance) {
          moved = true;
        }
        centers[c] = sums[c];
      }
      if (!moved) {
        break;
      }
    }
    double cost = assign(points, centers, assignment);
    long[] sizes = new long[k];
    for (int a : assignment) {
      sizes[a]++;
    }
    return new Fit(centers, assignment, sizes, cost);
  }

  /**
   * Mean silhouette with squared Euclidean distance, as Spark's ClusteringEvaluator defines it: a
   * point's dissimilarity to a cluster is its mean squared distance to the cluster's points
   * (its own cluster without itself); a point alone in its cluster scores 0.
   *
   * @return the mean over all points, or NaN with fewer than two non-empty clusters
   */
  public static double silhouette(double[][] points, int[] assignment, int k) {
    int d = points[0].length;
    long[] count = new long[k];
    double[][] sum = new double[k][d];
    double[] sumSquares = new double[k];
    double[] norms = new double[points.length];
    for (int i = 0; i < points.length; i++) {
      int c = assignment[i];
      count[c]++;
      norms[i] = dot(points[i], points[i]);
      sumSquares[c] += norms[i];
      for (int j = 0; j < d; j++) {
        sum[c][j] += points[i][j];
      }
    }
    if (Arrays.stream(count).filter(x -> x > 0).count() < 2) {
      return Double.NaN;
    }
    double total = 0;
    for (int i = 0; i < points.length; i++) {
      int own = assignment[i];
      if (count[own] == 1) {
        continue;
      }
      double a = meanSqDist(points[i], norms[i], count[own], sum[own], sumSquares[own]) * count[own] / (count[own] - 1);
      double b = Double.POSITIVE_INFINITY;
      for (int c = 0; c < k; c++) {
        if (c != own && count[c] > 0) {
          b = Math.min(b, meanSqDist(points[i], norms[i], count[c], sum[c], sumSquares[c]));
        }
      }
      total += a < b ? 1 - a / b : a > b ? b / a - 1 : 0;
    }
    return total / points.length;
  }

  private static double meanSqDist(double[] x, double norm, long n, double[] sum, double sumSquares) {
    return (n * norm - 2 * dot(x, sum) + sumSquares) / n;
  }

  /** k-means++: each next centre drawn with probability proportional to squared distance. */
  private static double[][] seedPlusPlus(double[][] points, int k, Random random) {
    int n = points.length;
    double[][] centers = new double[k][];
    centers[0] = points[random.nextInt(n)].clone();
    double[] nearest = new double[n];
    Arrays.fill(nearest, Double.POSITIVE_INFINITY);
    for (int c = 1; c < k; c++) {
      double total = 0;
      for (int i = 0; i < n; i++) {
        nearest[i] = Math.min(nearest[i], sqdist(points[i], centers[c - 1]));
        total += nearest[i];
      }
      int pick = random.nextInt(n);
      if (total > 0) {
        double r = random.nextDouble() * total;
        for (int i = 0; i < n; i++) {
          r -= nearest[i];
          if (r <= 0) {
            pick = i;
            break;
          }
        }
      }
      centers[c] = points[pick].clone();
    }
    return centers;
  }

  /** Assigns every point to its nearest centre (lowest index on ties); returns the cost. */
  private static double assign(double[][] points, double[][] centers, int[] assignment) {
    double cost = 0;
    for (int i = 0; i < points.length; i++) {
      int best = 0;
      double bestDist = Double.POSITIVE_INFINITY;
      for (int c = 0; c < centers.length; c++) {
        double dist = sqdist(points[i], centers[c]);
        if (dist < bestDist) {
          bestDist = dist;
          best = c;
        }
      }
      assignment[i] = best;
      cost += bestDist;
    }
    return cost;
  }

  private static double sqdist(double[] a, double[] b) {
    double s = 0;
    for (int j = 0; j < a.length; j++) {
      double t = a[j] - b[j];
      s += t * t;
    }
    return s;
  }

  private static double dot(double[] a, double[] b) {
    double s = 0;
    for (int j = 0; j < a.length; j++) {
      s += a[j] * b[j];
    }
    return s;
  }
}
