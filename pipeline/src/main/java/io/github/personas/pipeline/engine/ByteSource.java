package io.github.personas.pipeline.engine;

import org.apache.spark.unsafe.types.UTF8String;

/** Reads what a {@link ByteSink} wrote, front to back, from a byte array. */
public final class ByteSource {

  private byte[] buf;
  private int pos;
  private int end;

  /** Reads {@code bytes} from the start. */
  public ByteSource(byte[] bytes) {
    reset(bytes, 0, bytes.length);
  }

  /** Reads {@code length} bytes of {@code bytes} from {@code offset}. */
  public void reset(byte[] bytes, int offset, int length) {
    this.buf = bytes;
    this.pos = offset;
    this.end = offset + length;
  }

  /** True while bytes are left. */
  public boolean hasMore() {
    return pos < end;
  }

  /** The array read from (strings of a record point into it). */
  public byte[] array() {
    return buf;
  }

  public int position() {
    return pos;
  }

  private void need(int n) {
    if (pos + n > end) {
      throw new IllegalStateException(String.format(
          "A block ends after %d of its bytes while %d more were expected: it was not written by this version", pos, n));
    }
  }

  public int getByte() {
    need(1);
    return buf[pos++];
  }

  public long getLong() {
    need(8);
    long v = (long) ByteSink.LONGS.get(buf, pos);
    pos += 8;
    return v;
  }

  public int getInt() {
    need(4);
    int v = (int) ByteSink.INTS.get(buf, pos);
    pos += 4;
    return v;
  }

  /** What {@link ByteSink#putChar} wrote. */
  public int getChar() {
    need(2);
    int v = (buf[pos] & 0xFF) | (buf[pos + 1] & 0xFF) << 8;
    pos += 2;
    return v;
  }

  public double getDouble() {
    return Double.longBitsToDouble(getLong());
  }

  public int getVarInt() {
    // Most varints (lengths, small ints, position steps) are one byte.
    if (pos < end && buf[pos] >= 0) {
      return buf[pos++];
    }
    int v = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      int b = getByte();
      v |= (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        return v;
      }
    }
    throw new IllegalStateException("A varint is longer than five bytes at byte " + pos);
  }

  public int getSignedVarInt() {
    int v = getVarInt();
    return (v >>> 1) ^ -(v & 1);
  }

  /**
   * A string written by {@link ByteSink#putString}, pointing into this source's array: no copy
   * is made, so keep it only while the array is alive (clone it to keep it longer).
   */
  public UTF8String getString() {
    int n = getVarInt();
    need(n);
    UTF8String s = UTF8String.fromBytes(buf, pos, n);
    pos += n;
    return s;
  }

  /** Skips a string written by {@link ByteSink#putString}. */
  public void skipString() {
    int n = getVarInt();
    need(n);
    pos += n;
  }

  public void skip(int n) {
    need(n);
    pos += n;
  }
}
