package io.github.personas.pipeline.engine;

import java.io.Serializable;
import java.util.Arrays;

/**
 * The key hashes that occur more than once among millions, and how often.
 *
 * <p>The hashes (a 64-bit and a 32-bit hash of each key) are first spread into buckets by the
 * top bits of the first, which is uniform, and only the small buckets are sorted: about twice as
 * fast as sorting millions of values at once. A bucket holding many copies of one key is sorted
 * by a three-way quicksort, which does not degrade on equal values.
 */
final class RepeatedKeys implements Serializable {

  private static final long serialVersionUID = 1L;

  private long[] h1 = new long[16];
  private int[] h2 = new int[16];
  private int[] copies = new int[16];
  private int size;

  /** Number of distinct repeated keys. */
  int size() {
    return size;
  }

  long h1(int i) {
    return h1[i];
  }

  int h2(int i) {
    return h2[i];
  }

  /** Rows with key {@code i}: at least two. */
  int copies(int i) {
    return copies[i];
  }

  /** Rows beyond the first of every repeated key. */
  long duplicates() {
    long d = 0;
    for (int i = 0; i < size; i++) {
      d += copies[i] - 1;
    }
    return d;
  }

  void add(long a, int b, int n) {
    if (size == h1.length) {
      h1 = Arrays.copyOf(h1, size * 2);
      h2 = Arrays.copyOf(h2, size * 2);
      copies = Arrays.copyOf(copies, size * 2);
    }
    h1[size] = a;
    h2[size] = b;
    copies[size++] = n;
  }

  /** Adds the keys of {@code other} (found in other partitions: disjoint from these). */
  void addAll(RepeatedKeys other) {
    for (int i = 0; i < other.size; i++) {
      add(other.h1[i], other.h2[i], other.copies[i]);
    }
  }

  /**
   * The repeated keys among the first {@code n} pairs (the arrays are reordered).
   *
   * @param a the 64-bit hashes
   * @param b the 32-bit hashes of the same keys
   */
  static RepeatedKeys find(long[] a, int[] b, int n) {
    RepeatedKeys out = new RepeatedKeys();
    if (n < 2) {
      return out;
    }
    int bits = Math.max(4, Math.min(20, 32 - Integer.numberOfLeadingZeros(n / 4)));
    int shift = 64 - bits;
    int[] start = new int[(1 << bits) + 1];
    for (int i = 0; i < n; i++) {
      start[(int) (a[i] >>> shift) + 1]++;
    }
    for (int k = 1; k < start.length; k++) {
      start[k] += start[k - 1];
    }
    int[] next = Arrays.copyOf(start, start.length - 1);
    long[] sa = new long[n];
    int[] sb = new int[n];
    for (int i = 0; i < n; i++) {
      int k = next[(int) (a[i] >>> shift)]++;
      sa[k] = a[i];
      sb[k] = b[i];
    }
    for (int k = 0; k + 1 < start.length; k++) {
      int from = start[k];
      int to = start[k + 1];
      if (to - from < 2) {
        continue;
      }
      sort(sa, sb, from, to - 1);
      int run = 1;
      for (int i = from + 1; i <= to; i++) {
        if (i < to && sa[i] == sa[i - 1] && sb[i] == sb[i - 1]) {
          run++;
        } else {
          if (run > 1) {
            out.add(sa[i - 1], sb[i - 1], run);
          }
          run = 1;
        }
      }
    }
    return out;
  }

  private static int compare(long[] a, int[] b, int i, long pa, int pb) {
    int c = Long.compare(a[i], pa);
    return c != 0 ? c : Integer.compare(b[i], pb);
  }

  /** Three-way quicksort of pairs in [lo, hi], by the long then the int. */
  private static void sort(long[] a, int[] b, int lo, int hi) {
    while (hi - lo >= 16) {
      int mid = (lo + hi) >>> 1;
      long pa = a[mid];
      int pb = b[mid];
      int lt = lo;
      int gt = hi;
      int i = lo;
      while (i <= gt) {
        int c = compare(a, b, i, pa, pb);
        if (c < 0) {
          swap(a, b, lt++, i++);
        } else if (c > 0) {
          swap(a, b, i, gt--);
        } else {
          i++;
        }
      }
      // Recurse into the smaller side, loop on the larger: the stack stays logarithmic.
      if (lt - lo < hi - gt) {
        sort(a, b, lo, lt - 1);
        lo = gt + 1;
      } else {
        sort(a, b, gt + 1, hi);
        hi = lt - 1;
      }
    }
    for (int i = lo + 1; i <= hi; i++) {
      for (int j = i; j > lo && compare(a, b, j - 1, a[j], b[j]) > 0; j--) {
        swap(a, b, j, j - 1);
      }
    }
  }

  private static void swap(long[] a, int[] b, int i, int j) {
    long t = a[i];
    a[i] = a[j];
    a[j] = t;
    int u = b[i];
    b[i] = b[j];
    b[j] = u;
  }
}
