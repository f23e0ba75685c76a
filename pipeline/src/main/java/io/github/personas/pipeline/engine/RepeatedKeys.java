package io.github.personas.pipeline.engine;

import java.io.Serializable;
import java.util.Arrays;

/**
 * The key hashes that occur more than once among millions, how often, and in which of the
 * pass's record partitions their rows are.
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
  /** The record partitions of key i are places[placesStart[i]] to places[placesStart[i + 1] - 1]. */
  private int[] placesStart = new int[17];
  private int[] places = new int[16];
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

  /** The distinct record partitions holding rows of key {@code i}. */
  int[] places(int i) {
    return java.util.Arrays.copyOfRange(places, placesStart[i], placesStart[i + 1]);
  }

  /** Rows beyond the first of every repeated key. */
  long duplicates() {
    long d = 0;
    for (int i = 0; i < size; i++) {
      d += copies[i] - 1;
    }
    return d;
  }

  void add(long a, int b, int n, int[] where, int from, int to) {
    if (size == h1.length) {
      h1 = Arrays.copyOf(h1, size * 2);
      h2 = Arrays.copyOf(h2, size * 2);
      copies = Arrays.copyOf(copies, size * 2);
      placesStart = Arrays.copyOf(placesStart, size * 2 + 1);
    }
    h1[size] = a;
    h2[size] = b;
    copies[size] = n;
    int at = placesStart[size];
    for (int i = from; i < to; i++) {
      // The run is sorted by place too, so distinct places are the changes.
      if (i == from || where[i] != where[i - 1]) {
        if (at == places.length) {
          places = Arrays.copyOf(places, places.length * 2);
        }
        places[at++] = where[i];
      }
    }
    placesStart[++size] = at;
  }

  /**
   * The repeated keys among the first {@code n} entries (the arrays are reordered).
   *
   * @param a     the 64-bit hashes
   * @param b     the 32-bit hashes of the same keys
   * @param where the record partition of each entry's row
   */
  static RepeatedKeys find(long[] a, int[] b, int[] where, int n) {
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
    int[] sw = new int[n];
    for (int i = 0; i < n; i++) {
      int k = next[(int) (a[i] >>> shift)]++;
      sa[k] = a[i];
      sb[k] = b[i];
      sw[k] = where[i];
    }
    for (int k = 0; k + 1 < start.length; k++) {
      int from = start[k];
      int to = start[k + 1];
      if (to - from < 2) {
        continue;
      }
      sort(sa, sb, sw, from, to - 1);
      int runStart = from;
      for (int i = from + 1; i <= to; i++) {
        if (i == to || sa[i] != sa[i - 1] || sb[i] != sb[i - 1]) {
          if (i - runStart > 1) {
            out.add(sa[runStart], sb[runStart], i - runStart, sw, runStart, i);
          }
          runStart = i;
        }
      }
    }
    return out;
  }

  private static int compare(long[] a, int[] b, int[] c, int i, long pa, int pb, int pc) {
    int x = Long.compare(a[i], pa);
    if (x != 0) {
      return x;
    }
    x = Integer.compare(b[i], pb);
    return x != 0 ? x : Integer.compare(c[i], pc);
  }

  /** Three-way quicksort of entries in [lo, hi], by the long, the int, then the place. */
  private static void sort(long[] a, int[] b, int[] c, int lo, int hi) {
    while (hi - lo >= 16) {
      int mid = (lo + hi) >>> 1;
      long pa = a[mid];
      int pb = b[mid];
      int pc = c[mid];
      int lt = lo;
      int gt = hi;
      int i = lo;
      while (i <= gt) {
        int x = compare(a, b, c, i, pa, pb, pc);
        if (x < 0) {
          swap(a, b, c, lt++, i++);
        } else if (x > 0) {
          swap(a, b, c, i, gt--);
        } else {
          i++;
        }
      }
      // Recurse into the smaller side, loop on the larger: the stack stays logarithmic.
      if (lt - lo < hi - gt) {
        sort(a, b, c, lo, lt - 1);
        lo = gt + 1;
      } else {
        sort(a, b, c, gt + 1, hi);
        hi = lt - 1;
      }
    }
    for (int i = lo + 1; i <= hi; i++) {
      for (int j = i; j > lo && compare(a, b, c, j - 1, a[j], b[j], c[j]) > 0; j--) {
        swap(a, b, c, j, j - 1);
      }
    }
  }

  private static void swap(long[] a, int[] b, int[] c, int i, int j) {
    long t = a[i];
    a[i] = a[j];
    a[j] = t;
    int u = b[i];
    b[i] = b[j];
    b[j] = u;
    u = c[i];
    c[i] = c[j];
    c[j] = u;
  }
}
