package io.github.personas.pipeline.engine;


import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;

/** Where each thing is in the projected rows, and the codecs of records and side rows. */
final class PassLayout implements Serializable {
  static final int CLASS = 0;
  static final int SIDE_FLAG = 1;
  static final int H1 = 2;
  static final int H2 = 3;
  static final int FIELDS = 4;

  /** Record fields 0 to values - 1 are the fold's inputs or the returned columns. */
  final int values;
  final boolean folding;
  /** Record field of the group (when folding), the first order column, the file and the block. */
  final int group;
  final int firstOrder;
  /** Row ordinal of the first order column when it is a bigint, whose range the pass reports; else -1. */
  final int rangeOrdinal;
  final int orderCount;
  final int file;
  final int block;
  final int[] recordOrdinals;
  final int[] sideOrdinals;
  final RecordCodec records;
  final RecordCodec side;
  private final StructType schema;

  PassLayout(StructType schema, int values, boolean folding, int orderCount, int sideCount) {
    this.schema = schema;
    this.values = values;
    this.folding = folding;
    this.group = folding ? values : -1;
    this.firstOrder = values + (folding ? 1 : 0);
    this.orderCount = orderCount;
    this.file = firstOrder + orderCount;
    this.block = file + 1;
    int fieldCount = block + 1;
    recordOrdinals = new int[fieldCount];
    List<RecordCodec.Kind> kinds = new ArrayList<>();
    for (int i = 0; i < fieldCount; i++) {
      recordOrdinals[i] = FIELDS + i;
      DataType t = schema.fields()[FIELDS + i].dataType();
      if (i >= firstOrder && i < file && !t.equals(DataTypes.LongType) && !t.equals(DataTypes.StringType)) {
        throw new IllegalArgumentException("An order column must be a bigint or a string, not " + t.simpleString());
      }
      kinds.add(RecordCodec.Kind.of(t));
    }
    records = new RecordCodec(kinds);
    rangeOrdinal = orderCount > 0 && schema.fields()[FIELDS + firstOrder].dataType().equals(DataTypes.LongType)
        ? FIELDS + firstOrder : -1;
    sideOrdinals = new int[sideCount];
    List<RecordCodec.Kind> sideKinds = new ArrayList<>();
    for (int i = 0; i < sideCount; i++) {
      sideOrdinals[i] = FIELDS + fieldCount + i;
      sideKinds.add(RecordCodec.Kind.of(schema.fields()[sideOrdinals[i]].dataType()));
    }
    side = new RecordCodec(sideKinds);
  }

  /** The returned columns (when not folding). */
  StructType recordSchema() {
    return new StructType(Arrays.copyOfRange(schema.fields(), FIELDS, FIELDS + values));
  }

  StructType sideSchema() {
    return new StructType(Arrays.copyOfRange(schema.fields(), FIELDS + recordOrdinals.length,
        FIELDS + recordOrdinals.length + sideOrdinals.length));
  }

  /**
   * The rank of the current record, read by the task of input partition {@code map}: its order
   * fields, file, block, position, then the task, as bytes that compare unsigned in that order.
   */
  byte[] rank(RecordCodec.Reader r, int position, int map) {
    ByteSink out = new ByteSink(64);
    for (int i = firstOrder; i < file; i++) {
      putOrdered(out, r, i);
    }
    putOrdered(out, r, file);
    putOrdered(out, r, block);
    for (int v : new int[] {position, map}) {
      out.putByte(v >>> 24);
      out.putByte(v >>> 16);
      out.putByte(v >>> 8);
      out.putByte(v);
    }
    return out.toByteArray();
  }

  private void putOrdered(ByteSink out, RecordCodec.Reader r, int i) {
    // Nulls first; a long big-endian with its sign flipped; a string's bytes with 0 escaped as 0 1, ended by 0 0.
    if (r.isNullAt(i)) {
      out.putByte(0);
      return;
    }
    out.putByte(1);
    if (records.kind(i) == RecordCodec.Kind.LONG) {
      long v = r.getLong(i) ^ Long.MIN_VALUE;
      for (int s = 56; s >= 0; s -= 8) {
        out.putByte((int) (v >>> s));
      }
    } else {
      UTF8String s = r.getUTF8String(i);
      for (byte b : s.getBytes()) {
        out.putByte(b);
        if (b == 0) {
          out.putByte(1);
        }
      }
      out.putByte(0);
      out.putByte(0);
    }
  }
}

