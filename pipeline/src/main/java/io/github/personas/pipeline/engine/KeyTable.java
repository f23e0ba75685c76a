package io.github.personas.pipeline.engine;

import java.io.Serializable;

/**
 * An open-addressing map from a 96-bit key hash (a long and an int) to a value, small enough to
 * broadcast: the repeated keys of a pass and the position of the row kept for each.
 *
 * @param <V> the value
 */
final class KeyTable<V> implements Serializable {

  private static final long serialVersionUID = 1L;

  private long[] h1s;
  private int[] h2s;
  private Object[] values;
  private int mask;
  private int size;
  /**
   * One bit per value of the low bits of h1, set for the keys held: nearly every key looked up
   * is not held, and a bit in a small array answers that without a cache miss in the table.
   */
  private final long[] filter;
  private final int filterMask;

  /** @param expected entries to hold without growing */
  KeyTable(int expected) {
    int capacity = Integer.highestOneBit((int) Math.max(16, Math.min(1 << 29, expected * 2L - 1))) << 1;
    allocate(capacity);
    int bits = Integer.highestOneBit((int) Math.max(1 << 12, Math.min(1 << 26, expected * 16L)));
    filter = new long[bits >>> 6];
    filterMask = bits - 1;
  }

  private void allocate(int capacity) {
    h1s = new long[capacity];
    h2s = new int[capacity];
    values = new Object[capacity];
    mask = capacity - 1;
  }

  int size() {
    return size;
  }

  private int slot(long h1, int h2) {
    int i = (int) (h1 ^ (h1 >>> 29) ^ h2) & mask;
    while (values[i] != null && (h1s[i] != h1 || h2s[i] != h2)) {
      i = (i + 1) & mask;
    }
    return i;
  }

  /** Sets the value of a key; values are never null. */
  void put(long h1, int h2, V value) {
    if (value == null) {
      throw new IllegalArgumentException("null value");
    }
    if ((size + 1) * 2 > values.length) {
      long[] oldH1 = h1s;
      int[] oldH2 = h2s;
      Object[] oldValues = values;
      allocate(values.length * 2);
      size = 0;
      for (int i = 0; i < oldValues.length; i++) {
        if (oldValues[i] != null) {
          put(oldH1[i], oldH2[i], cast(oldValues[i]));
        }
      }
    }
    int i = slot(h1, h2);
    if (values[i] == null) {
      size++;
    }
    int b = (int) h1 & filterMask;
    filter[b >>> 6] |= 1L << b;
    h1s[i] = h1;
    h2s[i] = h2;
    values[i] = value;
  }

  /** The value of a key, or null. */
  V get(long h1, int h2) {
    int b = (int) h1 & filterMask;
    if ((filter[b >>> 6] & (1L << b)) == 0) {
      return null;
    }
    return cast(values[slot(h1, h2)]);
  }

  @SuppressWarnings("unchecked")
  private static <V> V cast(Object o) {
    return (V) o;
  }
}
