package io.github.personas.pipeline.engine;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * Writes chosen fields of Spark's internal rows compactly and reads them back as {@link Record}s.
 *
 * <p>A record is a bitmap of two bits per field (value, null, or the same string or long as
 * the previous value of the field in the stream) followed by the values: longs and doubles in eight bytes,
 * ints as zigzag varints, booleans in a byte, strings as a varint length and their UTF-8 bytes.
 * Repeated strings cost nothing: a user's device, place and app version are the same on most
 * of its events, and Spark's shuffle compression finds what is left.
 */
public final class RecordCodec implements Serializable {

  private static final long serialVersionUID = 1L;

  /** How a field is stored. */
  public enum Kind {
    /** bigint and timestamp (µs) */
    LONG,
    /** int and date (days) */
    INT,
    DOUBLE,
    BOOLEAN,
    STRING,
    /** array&lt;string&gt; */
    STRING_ARRAY;

    /** The kind a Spark SQL type is stored as. */
    public static Kind of(DataType type) {
      if (type.equals(DataTypes.LongType) || type.equals(DataTypes.TimestampType)) {
        return LONG;
      } else if (type.equals(DataTypes.IntegerType) || type.equals(DataTypes.DateType)) {
        return INT;
      } else if (type.equals(DataTypes.DoubleType)) {
        return DOUBLE;
      } else if (type.equals(DataTypes.BooleanType)) {
        return BOOLEAN;
      } else if (type.equals(DataTypes.StringType)) {
        return STRING;
      } else if (type instanceof ArrayType a && a.elementType().equals(DataTypes.StringType)) {
        return STRING_ARRAY;
      }
      throw new IllegalArgumentException("A record field cannot be of type " + type.simpleString()
          + "; cast it to bigint, int, double, boolean, string or array<string>");
    }
  }

  private static final int VALUE = 0;
  private static final int NULL = 1;
  private static final int SAME = 2;

  private final Kind[] kinds;

  /** @param kinds the kinds of the fields, in order */
  public RecordCodec(List<Kind> kinds) {
    this.kinds = kinds.toArray(Kind[]::new);
  }

  /** Number of fields. */
  public int fields() {
    return kinds.length;
  }

  /** The kind of field {@code i}. */
  public Kind kind(int i) {
    return kinds[i];
  }

  /** A writer for one stream of records. */
  public Writer writer() {
    return new Writer();
  }

  /** A reader for one stream of records. */
  public Reader reader() {
    return new Reader();
  }

  /** Writes records of one stream: strings and longs equal to the field's previous value are only flagged. */
  public final class Writer {
    private final UTF8String[] previous = new UTF8String[kinds.length];
    private final long[] previousLong = new long[kinds.length];
    private final boolean[] hasPreviousLong = new boolean[kinds.length];

    private Writer() {}

    /** Starts a new stream: the next record repeats nothing. */
    public void reset() {
      Arrays.fill(previous, null);
      Arrays.fill(hasPreviousLong, false);
    }

    /**
     * Appends fields {@code ordinals[i]} of {@code row} as the record's fields.
     *
     * @param row      an internal row, whose types match the kinds
     * @param ordinals the row ordinal of each field
     */
    public void write(InternalRow row, int[] ordinals, ByteSink out) {
      int bitmapAt = out.size();
      int bitmapBytes = (kinds.length * 2 + 7) / 8;
      for (int b = 0; b < bitmapBytes; b++) {
        out.putByte(0);
      }
      int bits = 0;
      int bitmap = 0;
      int bytesDone = 0;
      for (int i = 0; i < kinds.length; i++) {
        int o = ordinals[i];
        int tag = VALUE;
        if (row.isNullAt(o)) {
          tag = NULL;
        } else {
          switch (kinds[i]) {
            case LONG -> {
              long v = row.getLong(o);
              if (hasPreviousLong[i] && previousLong[i] == v) {
                tag = SAME;
              } else {
                out.putLong(v);
                previousLong[i] = v;
                hasPreviousLong[i] = true;
              }
            }
            case INT -> out.putSignedVarInt(row.getInt(o));
            case DOUBLE -> out.putDouble(row.getDouble(o));
            case BOOLEAN -> out.putByte(row.getBoolean(o) ? 1 : 0);
            case STRING -> {
              UTF8String s = row.getUTF8String(o);
              if (s.equals(previous[i])) {
                tag = SAME;
              } else {
                out.putString(s);
                previous[i] = s.clone();
              }
            }
            case STRING_ARRAY -> {
              ArrayData a = row.getArray(o);
              int n = a.numElements();
              out.putVarInt(n);
              for (int e = 0; e < n; e++) {
                if (a.isNullAt(e)) {
                  out.putVarInt(0);
                } else {
                  UTF8String s = a.getUTF8String(e);
                  out.putVarInt(s.numBytes() + 1);
                  out.putBytes(s.getBaseObject(), s.getBaseOffset(), s.numBytes());
                }
              }
            }
            default -> throw new IllegalStateException("Unhandled kind " + kinds[i]);
          }
        }
        bitmap |= tag << bits;
        bits += 2;
        if (bits == 8) {
          out.setByte(bitmapAt + bytesDone++, bitmap);
          bits = 0;
          bitmap = 0;
        }
      }
      if (bits > 0) {
        out.setByte(bitmapAt + bytesDone, bitmap);
      }
    }
  }

  /**
   * Reads the records of one stream; the current record is this object. A null field reads as
   * 0, false or null, as Spark's rows do.
   */
  public final class Reader implements Record {
    private final long[] longs = new long[kinds.length];
    private final double[] doubles = new double[kinds.length];
    private final boolean[] nulls = new boolean[kinds.length];
    private final UTF8String[] strings = new UTF8String[kinds.length];
    private final UTF8String[][] arrays = new UTF8String[kinds.length][];
    /** The field's last value written in the stream, which a "same" tag repeats. */
    private final long[] lastLongs = new long[kinds.length];
    private final UTF8String[] lastStrings = new UTF8String[kinds.length];

    private Reader() {}

    /** Starts a new stream. */
    public void reset() {
      Arrays.fill(lastStrings, null);
      Arrays.fill(lastLongs, 0);
    }

    /** Reads the next record from {@code in} into this reader. */
    public void read(ByteSource in) {
      byte[] block = in.array();
      int bitmapAt = in.position();
      in.skip((kinds.length * 2 + 7) / 8);
      for (int i = 0; i < kinds.length; i++) {
        int tag = (block[bitmapAt + (i >>> 2)] >>> ((i & 3) * 2)) & 3;
        nulls[i] = tag == NULL;
        if (tag == SAME) {
          // The field's last value written, even with nulls in between.
          longs[i] = lastLongs[i];
          strings[i] = lastStrings[i];
          continue;
        }
        if (tag == NULL) {
          longs[i] = 0;
          doubles[i] = 0;
          strings[i] = null;
          arrays[i] = null;
          continue;
        }
        switch (kinds[i]) {
          case LONG -> {
            longs[i] = in.getLong();
            lastLongs[i] = longs[i];
          }
          case INT -> longs[i] = in.getSignedVarInt();
          case DOUBLE -> doubles[i] = in.getDouble();
          case BOOLEAN -> longs[i] = in.getByte();
          case STRING -> {
            strings[i] = in.getString();
            lastStrings[i] = strings[i];
          }
          case STRING_ARRAY -> {
            UTF8String[] a = new UTF8String[in.getVarInt()];
            for (int e = 0; e < a.length; e++) {
              int n = in.getVarInt();
              if (n > 0) {
                a[e] = UTF8String.fromBytes(block, in.position(), n - 1);
                in.skip(n - 1);
              }
            }
            arrays[i] = a;
          }
          default -> throw new IllegalStateException("Unhandled kind " + kinds[i]);
        }
      }
    }

    @Override
    public boolean isNullAt(int i) {
      return nulls[i];
    }

    @Override
    public long getLong(int i) {
      return longs[i];
    }

    @Override
    public int getInt(int i) {
      return (int) longs[i];
    }

    @Override
    public double getDouble(int i) {
      return doubles[i];
    }

    @Override
    public boolean getBoolean(int i) {
      return longs[i] != 0;
    }

    @Override
    public UTF8String getUTF8String(int i) {
      return strings[i];
    }

    @Override
    public UTF8String[] getStringArray(int i) {
      return arrays[i];
    }

    /**
     * Field {@code i} as Spark's external Row value: Long, Integer, Double, Boolean, String or a
     * Scala sequence of strings (timestamps as epoch microseconds, dates as epoch days).
     */
    public Object value(int i) {
      if (nulls[i]) {
        return null;
      }
      return switch (kinds[i]) {
        case LONG -> longs[i];
        case INT -> (int) longs[i];
        case DOUBLE -> doubles[i];
        case BOOLEAN -> longs[i] != 0;
        case STRING -> strings[i].toString();
        case STRING_ARRAY -> {
          List<String> l = new ArrayList<>(arrays[i].length);
          for (UTF8String s : arrays[i]) {
            l.add(s == null ? null : s.toString());
          }
          // Spark's Row encoder takes a Scala Seq for an array.
          yield scala.jdk.javaapi.CollectionConverters.asScala(l).toSeq();
        }
      };
    }
  }
}
