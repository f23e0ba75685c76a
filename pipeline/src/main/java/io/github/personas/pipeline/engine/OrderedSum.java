package io.github.personas.pipeline.engine;

import java.util.function.IntToDoubleFunction;
import java.util.stream.IntStream;

/**
 * A sum of many terms on the driver's cores that is the same bit for bit on any number of them:
 * fixed blocks of terms are summed in parallel, and the blocks' sums added in order.
 */
public final class OrderedSum {

  /** Terms per block: enough work for a thread, few enough blocks to share among cores. */
  static final int BLOCK = 2048;

  private OrderedSum() {}

  /** The sum of {@code term.applyAsDouble(i)} for i in [0, n). */
  public static double of(int n, IntToDoubleFunction term) {
    int blocks = (n + BLOCK - 1) / BLOCK;
    double[] sums = new double[blocks];
    IntStream.range(0, blocks).parallel().forEach(k -> {
      double sum = 0;
      for (int i = k * BLOCK, end = Math.min(n, i + BLOCK); i < end; i++) {
        sum += term.applyAsDouble(i);
      }
      sums[k] = sum;
    });
    double sum = 0;
    for (double s : sums) {
      sum += s;
    }
    return sum;
  }
}
