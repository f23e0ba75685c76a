package io.github.personas.pipeline.engine;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A growable byte array written front to back: fixed-width longs, ints and doubles, varints and
 * byte runs, in little-endian order, read back by {@link ByteSource}.
 *
 * <p>Blocks of records and key hashes are built with it before they are handed to Spark's shuffle
 * as one {@code byte[]} each, one shuffled object per block instead of one per row; group states
 * spilled to disk are written with it too.
 */
public final class ByteSink {

  static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  static final VarHandle INTS = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

  private byte[] buf;
  private int size;

  /** @param capacity bytes to allocate up front */
  public ByteSink(int capacity) {
    buf = new byte[Math.max(16, capacity)];
  }

  /** Bytes written so far. */
  public int size() {
    return size;
  }

  /** Forgets what was written, keeping the allocated array. */
  public void clear() {
    size = 0;
  }

  /** A copy of the bytes written. */
  public byte[] toByteArray() {
    return Arrays.copyOf(buf, size);
  }

  private void ensure(int more) {
    if (size + more > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + more));
    }
  }

  public void putByte(int b) {
    ensure(1);
    buf[size++] = (byte) b;
  }

  /** Overwrites one byte written before (bitmaps filled in after the values they describe). */
  public void setByte(int at, int b) {
    buf[at] = (byte) b;
  }

  public void putLong(long v) {
    ensure(8);
    LONGS.set(buf, size, v);
    size += 8;
  }

  public void putInt(int v) {
    ensure(4);
    INTS.set(buf, size, v);
    size += 4;
  }

  /** An unsigned 16-bit value. */
  public void putChar(int v) {
    ensure(2);
    buf[size++] = (byte) v;
    buf[size++] = (byte) (v >>> 8);
  }

  public void putDouble(double v) {
    putLong(Double.doubleToRawLongBits(v));
  }

  /** An unsigned varint: 7 bits a byte, small values in one byte. */
  public void putVarInt(int v) {
    ensure(5);
    while ((v & ~0x7F) != 0) {
      buf[size++] = (byte) ((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    buf[size++] = (byte) v;
  }

  /** A signed int as a zigzag varint, so small negative values stay short too. */
  public void putSignedVarInt(int v) {
    putVarInt((v << 1) ^ (v >> 31));
  }

  public void putBytes(byte[] b, int offset, int length) {
    ensure(length);
    System.arraycopy(b, offset, buf, size, length);
    size += length;
  }

  /** Copies {@code length} bytes from Spark's memory (an on- or off-heap base object and offset). */
  public void putBytes(Object base, long offset, int length) {
    ensure(length);
    org.apache.spark.unsafe.Platform.copyMemory(base, offset, buf,
        org.apache.spark.unsafe.Platform.BYTE_ARRAY_OFFSET + size, length);
    size += length;
  }

  /** A varint length followed by the bytes. */
  public void putString(org.apache.spark.unsafe.types.UTF8String s) {
    int n = s.numBytes();
    putVarInt(n);
    putBytes(s.getBaseObject(), s.getBaseOffset(), n);
  }
}
