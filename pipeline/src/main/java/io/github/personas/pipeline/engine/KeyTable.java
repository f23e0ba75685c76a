package io.github.personas.pipeline.engine;

/**
 * An open-addressing set of 96-bit key hashes (a long and an int), each with an optional long
 * value, in primitive arrays: what a record partition knows of the repeated keys it holds rows
 * of, and the fingerprint of the row kept of each where that row is one of its own. About 21
 * bytes a key, so even a partition whose every key repeats holds it in memory.
 */
final class KeyTable {

  private static final byte EMPTY = 0;
  private static final byte KEY = 1;
  private static final byte KEY_AND_VALUE = 2;

  private long[] h1s;
  private int[] h2s;
  private long[] values;
  private byte[] states;
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
    values = new long[capacity];
    states = new byte[capacity];
    mask = capacity - 1;
  }

  int size() {
    return size;
  }

  private int slotOf(long h1, int h2) {
    int i = (int) (h1 ^ (h1 >>> 29) ^ h2) & mask;
    while (states[i] != EMPTY && (h1s[i] != h1 || h2s[i] != h2)) {
      i = (i + 1) & mask;
    }
    return i;
  }

  /** Holds the key (without a value, unless it has one already). */
  void add(long h1, int h2) {
    int i = claim(h1, h2);
    if (states[i] == EMPTY) {
      states[i] = KEY;
      size++;
    }
  }

  /** Holds the key with {@code value}. */
  void put(long h1, int h2, long value) {
    int i = claim(h1, h2);
    if (states[i] == EMPTY) {
      size++;
    }
    states[i] = KEY_AND_VALUE;
    values[i] = value;
  }

  private int claim(long h1, int h2) {
    if ((size + 1) * 2 > states.length) {
      long[] oldH1 = h1s;
      int[] oldH2 = h2s;
      long[] oldValues = values;
      byte[] oldStates = states;
      allocate(states.length * 2);
      for (int j = 0; j < oldStates.length; j++) {
        if (oldStates[j] != EMPTY) {
          int k = slotOf(oldH1[j], oldH2[j]);
          h1s[k] = oldH1[j];
          h2s[k] = oldH2[j];
          values[k] = oldValues[j];
          states[k] = oldStates[j];
        }
      }
    }
    int i = slotOf(h1, h2);
    h1s[i] = h1;
    h2s[i] = h2;
    int b = (int) h1 & filterMask;
    filter[b >>> 6] |= 1L << b;
    return i;
  }

  /** The slot of a key held, or -1. */
  int find(long h1, int h2) {
    int b = (int) h1 & filterMask;
    if ((filter[b >>> 6] & (1L << b)) == 0) {
      return -1;
    }
    int i = slotOf(h1, h2);
    return states[i] == EMPTY ? -1 : i;
  }

  /** True when the key in slot {@code i} has a value. */
  boolean hasValue(int i) {
    return states[i] == KEY_AND_VALUE;
  }

  long value(int i) {
    return values[i];
  }
}
