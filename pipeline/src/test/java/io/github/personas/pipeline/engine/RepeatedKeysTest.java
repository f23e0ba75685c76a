package io.github.personas.pipeline.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RepeatedKeysTest {

  /** The repeated pairs with their counts and the places of their copies, as a plain map finds them. */
  private static Map<String, String> byMap(long[] a, int[] b, int[] w) {
    Map<String, Integer> n = new HashMap<>();
    Map<String, java.util.TreeSet<Integer>> places = new HashMap<>();
    for (int i = 0; i < a.length; i++) {
      n.merge(a[i] + "/" + b[i], 1, Integer::sum);
      places.computeIfAbsent(a[i] + "/" + b[i], k -> new java.util.TreeSet<>()).add(w[i]);
    }
    Map<String, String> out = new HashMap<>();
    n.forEach((k, c) -> {
      if (c > 1) {
        out.put(k, c + " in " + places.get(k));
      }
    });
    return out;
  }

  private static Map<String, String> found(long[] a, int[] b, int[] w) {
    RepeatedKeys r = RepeatedKeys.find(a.clone(), b.clone(), w.clone(), a.length);
    Map<String, String> n = new HashMap<>();
    for (int i = 0; i < r.size(); i++) {
      n.put(r.h1(i) + "/" + r.h2(i), r.copies(i) + " in " + java.util.Arrays.toString(r.places(i)));
    }
    return n;
  }

  @Test
  void repeatedPairsAreFoundWithTheirCountsAsAMapCountsThem() {
    Random random = new Random(7);
    for (int n : new int[] {0, 1, 2, 1000, 300_000}) {
      long[] a = new long[n];
      int[] b = new int[n];
      int[] w = new int[n];
      for (int i = 0; i < n; i++) {
        w[i] = random.nextInt(4);
        // Every fifth pair repeats an earlier one (some several times); every seventh repeats
        // only the long (another key whose 64-bit hash collides); extremes and negatives included.
        if (i > 0 && i % 5 == 0) {
          int j = random.nextInt(i);
          a[i] = a[j];
          b[i] = b[j];
        } else if (i > 0 && i % 7 == 0) {
          a[i] = a[random.nextInt(i)];
          b[i] = random.nextInt();
        } else {
          a[i] = random.nextLong();
          b[i] = random.nextInt();
        }
      }
      if (n > 2) {
        a[0] = Long.MIN_VALUE;
        a[1] = Long.MAX_VALUE;
        a[2] = Long.MIN_VALUE;
        b[2] = b[0];
      }
      assertEquals(byMap(a, b, w), found(a, b, w), n + " pairs");
    }
  }

  @Test
  void oneKeyRepeatedAMillionTimesIsOneRunNotAQuadraticSort() {
    int n = 1_000_000;
    long[] a = new long[n];
    int[] b = new int[n];
    java.util.Arrays.fill(a, 42L);
    java.util.Arrays.fill(b, 7);
    a[n - 1] = 43L;
    int[] w = new int[n];
    for (int i = 0; i < n; i++) {
      w[i] = i % 3;
    }
    RepeatedKeys r = RepeatedKeys.find(a, b, w, n);
    assertEquals(1, r.size());
    assertEquals(n - 1, r.copies(0));
    assertEquals(n - 2, r.duplicates());
    assertEquals("[0, 1, 2]", java.util.Arrays.toString(r.places(0)), "each place once");
  }
}
