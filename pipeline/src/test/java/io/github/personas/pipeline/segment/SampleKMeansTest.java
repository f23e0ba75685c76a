package io.github.personas.pipeline.segment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SampleKMeansTest {

  private static double[][] blobs(int perBlob, double[][] means, long seed) {
    Random r = new Random(seed);
    double[][] points = new double[perBlob * means.length][];
    for (int b = 0; b < means.length; b++) {
      for (int i = 0; i < perBlob; i++) {
        double[] p = new double[means[b].length];
        for (int j = 0; j < p.length; j++) {
          p[j] = means[b][j] + 0.1 * r.nextGaussian();
        }
        points[b * perBlob + i] = p;
      }
    }
    return points;
  }

  @Test
  void threeSeparatedBlobsAreFoundWhole() {
    double[][] points = blobs(200, new double[][] {{0, 0}, {5, 5}, {-5, 5}}, 1);
    SampleKMeans.Fit fit = new SampleKMeans(20, 1e-4, 7).fit(points, 3);
    assertEquals(3, fit.found());
    for (int b = 0; b < 3; b++) {
      Set<Integer> clusters = new HashSet<>();
      for (int i = 0; i < 200; i++) {
        clusters.add(fit.assignment()[b * 200 + i]);
      }
      assertEquals(1, clusters.size(), "blob " + b + " is one cluster");
    }
    assertArrayEquals(new long[] {200, 200, 200}, fit.sizes());
    assertTrue(fit.cost() < 600 * 2 * 0.1 * 0.1 * 1.5, "cost is the blobs' own spread: " + fit.cost());
    assertTrue(SampleKMeans.silhouette(points, fit.assignment(), 3) > 0.95);
  }

  @Test
  void silhouetteEqualsTheDefinitionComputedPairByPair() {
    Random r = new Random(3);
    double[][] points = new double[60][3];
    int[] assignment = new int[60];
    for (int i = 0; i < 60; i++) {
      for (int j = 0; j < 3; j++) {
        points[i][j] = r.nextGaussian() + (i % 3);
      }
      assignment[i] = i % 3;
    }
    assignment[0] = 3; // a cluster of one point scores 0
    double expected = 0;
    for (int i = 0; i < 60; i++) {
      double[] sum = new double[4];
      int[] n = new int[4];
      for (int o = 0; o < 60; o++) {
        if (o != i) {
          double s = 0;
          for (int j = 0; j < 3; j++) {
            s += (points[i][j] - points[o][j]) * (points[i][j] - points[o][j]);
          }
          sum[assignment[o]] += s;
          n[assignment[o]]++;
        }
      }
      int own = assignment[i];
      if (n[own] == 0) {
        continue;
      }
      double a = sum[own] / n[own];
      double b = Double.POSITIVE_INFINITY;
      for (int c = 0; c < 4; c++) {
        if (c != own && n[c] > 0) {
          b = Math.min(b, sum[c] / n[c]);
        }
      }
      expected += (b - a) / Math.max(a, b);
    }
    expected /= 60;
    assertEquals(expected, SampleKMeans.silhouette(points, assignment, 4), 1e-9);
  }

  @Test
  void theSameSeedGivesTheSameFitAndIdenticalPointsGiveOneCluster() {
    double[][] points = blobs(50, new double[][] {{0, 0, 0}, {3, 0, 1}, {0, 4, 2}, {1, 1, 9}}, 5);
    SampleKMeans km = new SampleKMeans(20, 1e-4, 11);
    assertArrayEquals(km.fit(points, 4).assignment(), km.fit(points, 4).assignment());

    double[][] same = new double[10][];
    for (int i = 0; i < 10; i++) {
      same[i] = new double[] {1, 2};
    }
    SampleKMeans.Fit fit = km.fit(same, 3);
    assertEquals(1, fit.found());
    assertEquals(0.0, fit.cost());
    assertTrue(Double.isNaN(SampleKMeans.silhouette(same, fit.assignment(), 3)));
  }

  @Test
  void argumentsOutOfRangeAreRejectedWithTheValue() {
    SampleKMeans km = new SampleKMeans(5, 1e-4, 1);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> km.fit(new double[][] {{1}}, 2));
    assertEquals("k must be in 1..1 (the number of points), got 2", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new SampleKMeans(0, 1e-4, 1));
  }
}
