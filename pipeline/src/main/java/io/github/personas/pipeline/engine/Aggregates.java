package io.github.personas.pipeline.engine;

import io.github.personas.pipeline.engine.Aggregate.State;
import java.io.Serializable;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * Ready-made {@link Aggregate}s: counts, sums, minima and maxima, flags, bit sets, the latest
 * value, distinct values and the most frequent value. Each takes the selector bits of the rows
 * it reads and a condition on the row view; a row must pass both.
 */
public final class Aggregates {

  private Aggregates() {}

  /** A condition on a row, shipped to the executors. */
  @FunctionalInterface
  public interface When<R> extends Serializable {
    boolean test(R row);
  }

  /** A long value of a row. */
  @FunctionalInterface
  public interface LongOf<R> extends Serializable {
    long of(R row);
  }

  /** A double value of a row. */
  @FunctionalInterface
  public interface DoubleOf<R> extends Serializable {
    double of(R row);
  }

  /** Every row the selector lets through. */
  public static <R> When<R> always() {
    return r -> true;
  }

  private static StructField field(String name, org.apache.spark.sql.types.DataType type, boolean nullable) {
    return new StructField(name, type, nullable, org.apache.spark.sql.types.Metadata.empty());
  }

  /** How two long slots combine (serialisable, shipped to the executors). */
  @FunctionalInterface
  private interface Combine extends Serializable {
    long apply(long a, long b);
  }

  /** The column value of a long slot. */
  @FunctionalInterface
  private interface Emit extends Serializable {
    Object of(long slot);
  }

  /**
   * An aggregate of one long slot: it starts at {@code identity}, and each row that passes
   * {@code when} combines its {@code value} into it, as merging combines two slots.
   */
  private static final class OneLong<R extends FoldRow> extends Aggregate<R> {
    private final When<R> when;
    private final LongOf<R> value;
    private final long identity;
    private final Combine combine;
    private final Emit emit;

    OneLong(StructField column, long selects, When<R> when, LongOf<R> value, long identity, Combine combine,
            Emit emit) {
      super(selects, List.of(), List.of(column), new Slots(1, 0, 0));
      this.when = when;
      this.value = value;
      this.identity = identity;
      this.combine = combine;
      this.emit = emit;
    }

    @Override
    protected void init(State s) {
      setLong(s, 0, identity);
    }

    @Override
    protected void add(State s, R row) {
      if (when.test(row)) {
        setLong(s, 0, combine.apply(getLong(s, 0), value.of(row)));
      }
    }

    @Override
    protected void merge(State s, State o) {
      setLong(s, 0, combine.apply(getLong(s, 0), getLong(o, 0)));
    }

    @Override
    protected void emit(State s, Object[] out, int at) {
      out[at] = emit.of(getLong(s, 0));
    }
  }

  /** Rows that pass {@code when}: a bigint, 0 without any. */
  public static <R extends FoldRow> Aggregate<R> count(String name, long selects, When<R> when) {
    return new OneLong<>(field(name, DataTypes.LongType, false), selects, when, r -> 1L, 0, Long::sum, v -> v);
  }

  /** The least {@code value} of rows that pass {@code when}: a bigint, null without any. */
  public static <R extends FoldRow> Aggregate<R> min(String name, long selects, When<R> when, LongOf<R> value) {
    // "None" is the identity of the comparison, as a SQL min of no rows is null.
    return new OneLong<>(field(name, DataTypes.LongType, true), selects, when, value, Long.MAX_VALUE, Math::min,
        v -> v == Long.MAX_VALUE ? null : v);
  }

  /** The greatest {@code value} of rows that pass {@code when}: a bigint, null without any. */
  public static <R extends FoldRow> Aggregate<R> max(String name, long selects, When<R> when, LongOf<R> value) {
    return new OneLong<>(field(name, DataTypes.LongType, true), selects, when, value, Long.MIN_VALUE, Math::max,
        v -> v == Long.MIN_VALUE ? null : v);
  }

  /** True when some row passes {@code when}: a boolean, false without any. */
  public static <R extends FoldRow> Aggregate<R> any(String name, long selects, When<R> when) {
    return new OneLong<>(field(name, DataTypes.BooleanType, false), selects, when, r -> 1L, 0, (a, b) -> a | b,
        v -> v != 0);
  }

  /**
   * How many distinct {@code bit}s (0..63) rows that pass {@code when} have, such as distinct
   * days in a window: an int, 0 without any. The set is a 64-bit mask, so it merges with an OR.
   */
  public static <R extends FoldRow> Aggregate<R> distinctBits(String name, long selects, When<R> when, LongOf<R> bit) {
    return new OneLong<>(field(name, DataTypes.IntegerType, false), selects, when, r -> 1L << bit.of(r), 0,
        (a, b) -> a | b, Long::bitCount);
  }

  /** The sum of {@code value} over rows that pass {@code when}: a double, null without any (as SQL's sum). */
  public static <R extends FoldRow> Aggregate<R> sum(String name, long selects, When<R> when, DoubleOf<R> value) {
    return new Summing<>(name, selects, when, value, false);
  }

  /** The mean of {@code value} over rows that pass {@code when}: a double, null without any (as SQL's avg). */
  public static <R extends FoldRow> Aggregate<R> mean(String name, long selects, When<R> when, DoubleOf<R> value) {
    return new Summing<>(name, selects, when, value, true);
  }

  /**
   * The exact sum of {@code value} read to {@code scale} decimal places (half up, as Spark casts a
   * double to a decimal), over rows that pass {@code when}: a double, the one nearest the exact
   * decimal sum; null without any. Summing doubles drifts: 2,000 times 9.99 is 19979.999999999658.
   * The sum is kept in units of 10^-scale in a long; past its range it carries on as a double sum.
   */
  public static <R extends FoldRow> Aggregate<R> exactSum(String name, long selects, When<R> when, DoubleOf<R> value,
                                                          int scale) {
    return new ExactSumming<>(name, selects, when, value, scale);
  }

  /** Money in units of 10^-scale in a long: exact sums while they fit, {@link #OVERFLOWED} after. */
  private static final class Units {
    static final long OVERFLOWED = Long.MIN_VALUE;

    private Units() {}

    /** {@code v} in units of 10^-scale ({@code factor} = 10^scale), rounded half up from its shortest decimal form. */
    static long of(double v, int scale, double factor) {
      double x = v * factor;
      long r = Math.round(x);
      // Near a half, or beyond the doubles that hold every integer, the product may round the
      // other way than the decimal would: ask the decimal.
      if (Math.abs(x) >= 0x1p52 || Math.abs(Math.abs(x - r) - 0.5) < 1e-6) {
        return new java.math.BigDecimal(Double.toString(v)).setScale(scale, java.math.RoundingMode.HALF_UP)
            .unscaledValue().longValue();
      }
      return r;
    }

    static long plus(long a, long b) {
      if (a == OVERFLOWED || b == OVERFLOWED) {
        return OVERFLOWED;
      }
      long sum = a + b;
      // Overflow when both have the sign the sum lacks.
      return ((a ^ sum) & (b ^ sum)) < 0 ? OVERFLOWED : sum;
    }
  }

  /**
   * The exact sum of {@code value} (as {@link #exactSum}) over the rows with the least {@code key}
   * among rows that pass {@code when}, such as a user's first day's revenue: a double, null
   * without any. It merges as a pair (least key, its sum), whatever the order of the rows.
   */
  public static <R extends FoldRow> Aggregate<R> exactSumAtLeast(String name, long selects, When<R> when,
                                                                 LongOf<R> key, DoubleOf<R> value, int scale) {
    double factor = Math.pow(10, scale);
    double largest = Long.MAX_VALUE / factor;
    // Slots: the least key, its units and rows; the double sum for when the units overflow.
    return new Aggregate<>(selects, List.of(), List.of(field(name, DataTypes.DoubleType, true)),
        new Aggregate.Slots(3, 1, 0)) {
      @Override
      protected void init(State s) {
        setLong(s, 0, Long.MAX_VALUE);
      }

      @Override
      protected void add(State s, R row) {
        if (when.test(row)) {
          double v = value.of(row);
          offer(s, key.of(row), Math.abs(v) < largest ? Units.of(v, scale, factor) : Units.OVERFLOWED, 1, v);
        }
      }

      private void offer(State s, long k, long units, long rows, double sum) {
        long least = getLong(s, 0);
        if (k < least) {
          setLong(s, 0, k);
          setLong(s, 1, units);
          setLong(s, 2, rows);
          setDouble(s, 0, sum);
        } else if (k == least) {
          setLong(s, 1, Units.plus(getLong(s, 1), units));
          setLong(s, 2, getLong(s, 2) + rows);
          setDouble(s, 0, getDouble(s, 0) + sum);
        }
      }

      @Override
      protected void merge(State s, State o) {
        if (getLong(o, 2) > 0) {
          offer(s, getLong(o, 0), getLong(o, 1), getLong(o, 2), getDouble(o, 0));
        }
      }

      @Override
      protected void emit(State s, Object[] out, int at) {
        long units = getLong(s, 1);
        out[at] = getLong(s, 2) == 0 ? null : units == Units.OVERFLOWED ? getDouble(s, 0) : units / factor;
      }
    };
  }

  /** How many distinct {@code value}s rows that pass {@code when} have, such as purchase days: a bigint, 0 without any. */
  public static <R extends FoldRow> Aggregate<R> distinctLongs(String name, long selects, When<R> when,
                                                               LongOf<R> value) {
    return new Aggregate<>(selects, List.of(), List.of(field(name, DataTypes.LongType, false)),
        new Aggregate.Slots(0, 0, 1)) {
      @Override
      protected void add(State s, R row) {
        if (when.test(row)) {
          Set<Long> set = getOrCreate(s, 0, HashSet::new);
          set.add(value.of(row));
        }
      }

      @Override
      protected void merge(State s, State o) {
        Set<Long> other = getObject(o, 0);
        if (other != null) {
          getOrCreate(s, 0, HashSet<Long>::new).addAll(other);
        }
      }

      @Override
      protected void writeObjects(State s, ByteSink out) {
        Set<Long> set = getObject(s, 0);
        out.putVarInt(set == null ? 0 : set.size());
        if (set != null) {
          set.forEach(out::putLong);
        }
      }

      @Override
      protected void readObjects(State s, ByteSource in) {
        int n = in.getVarInt();
        if (n > 0) {
          Set<Long> set = new HashSet<>();
          for (int i = 0; i < n; i++) {
            set.add(in.getLong());
          }
          setObject(s, 0, set);
        }
      }

      @Override
      protected void emit(State s, Object[] out, int at) {
        Set<Long> set = getObject(s, 0);
        out[at] = set == null ? 0L : (long) set.size();
      }
    };
  }

  /** Units of 10^-scale and the count in long slots, and a double sum for when the units overflow. */
  private static final class ExactSumming<R extends FoldRow> extends Aggregate<R> {
    private static final long OVERFLOWED = Units.OVERFLOWED;
    private final When<R> when;
    private final DoubleOf<R> value;
    private final int scale;
    private final double factor;
    // The largest |value| whose units fit a long; beyond it the sum carries on as a double.
    private final double largest;

    ExactSumming(String name, long selects, When<R> when, DoubleOf<R> value, int scale) {
      super(selects, List.of(), List.of(field(name, DataTypes.DoubleType, true)), new Slots(2, 1, 0));
      this.when = when;
      this.value = value;
      this.scale = scale;
      this.factor = Math.pow(10, scale);
      this.largest = Long.MAX_VALUE / factor;
    }


    @Override
    protected void add(State s, R row) {
      if (when.test(row)) {
        double v = value.of(row);
        setDouble(s, 0, getDouble(s, 0) + v);
        setLong(s, 1, getLong(s, 1) + 1);
        setLong(s, 0, Math.abs(v) < largest ? Units.plus(getLong(s, 0), Units.of(v, scale, factor)) : OVERFLOWED);
      }
    }

    @Override
    protected void merge(State s, State o) {
      setDouble(s, 0, getDouble(s, 0) + getDouble(o, 0));
      setLong(s, 1, getLong(s, 1) + getLong(o, 1));
      setLong(s, 0, Units.plus(getLong(s, 0), getLong(o, 0)));
    }

    @Override
    protected void emit(State s, Object[] out, int at) {
      long units = getLong(s, 0);
      out[at] = getLong(s, 1) == 0 ? null : units == OVERFLOWED ? getDouble(s, 0) : units / factor;
    }
  }

  /** A sum and a count of values; emits the sum or the mean. */
  private static final class Summing<R extends FoldRow> extends Aggregate<R> {
    private final When<R> when;
    private final DoubleOf<R> value;
    private final boolean mean;

    Summing(String name, long selects, When<R> when, DoubleOf<R> value, boolean mean) {
      super(selects, List.of(), List.of(field(name, DataTypes.DoubleType, true)), new Slots(1, 1, 0));
      this.when = when;
      this.value = value;
      this.mean = mean;
    }

    @Override
    protected void add(State s, R row) {
      if (when.test(row)) {
        setDouble(s, 0, getDouble(s, 0) + value.of(row));
        setLong(s, 0, getLong(s, 0) + 1);
      }
    }

    @Override
    protected void merge(State s, State o) {
      setDouble(s, 0, getDouble(s, 0) + getDouble(o, 0));
      setLong(s, 0, getLong(s, 0) + getLong(o, 0));
    }

    @Override
    protected void emit(State s, Object[] out, int at) {
      long n = getLong(s, 0);
      out[at] = n == 0 ? null : mean ? getDouble(s, 0) / n : getDouble(s, 0);
    }
  }

  /**
   * The non-null {@code value} of the latest row (by {@code time}); of two at the same time the
   * larger value, so the result does not depend on the order of the rows: a string.
   */
  public static <R extends FoldRow> Aggregate<R> latest(String name, long selects, LongOf<R> time, Input value) {
    return new Aggregate<>(selects, List.of(value), List.of(field(name, DataTypes.StringType, true)),
        new Aggregate.Slots(1, 0, 1)) {
      @Override
      protected void init(State s) {
        setLong(s, 0, Long.MIN_VALUE);
      }

      @Override
      protected void add(State s, R row) {
        UTF8String v = row.getString(value);
        if (v != null) {
          offer(s, time.of(row), v);
        }
      }

      private void offer(State s, long t, UTF8String v) {
        long now = getLong(s, 0);
        UTF8String current = getObject(s, 0);
        if (t > now || (t == now && v.compareTo(current) > 0)) {
          if (current == null || !current.equals(v)) {
            setObject(s, 0, v.clone());
          }
          setLong(s, 0, t);
        }
      }

      @Override
      protected void merge(State s, State o) {
        UTF8String v = getObject(o, 0);
        if (v != null) {
          offer(s, getLong(o, 0), v);
        }
      }

      @Override
      protected void writeObjects(State s, ByteSink out) {
        writeNullable(out, getObject(s, 0));
      }

      @Override
      protected void readObjects(State s, ByteSource in) {
        setObject(s, 0, readNullable(in));
      }

      @Override
      protected void emit(State s, Object[] out, int at) {
        UTF8String v = getObject(s, 0);
        out[at] = v == null ? null : v.toString();
      }
    };
  }

  /** How many distinct non-null {@code value}s rows that pass {@code when} have: a bigint, 0 without any. */
  public static <R extends FoldRow> Aggregate<R> distinctCount(String name, long selects, When<R> when, Input value) {
    return new Aggregate<>(selects, List.of(value), List.of(field(name, DataTypes.LongType, false)),
        new Aggregate.Slots(0, 0, 1)) {
      @Override
      protected void add(State s, R row) {
        UTF8String v = row.getString(value);
        if (v != null && when.test(row)) {
          Set<UTF8String> set = getOrCreate(s, 0, HashSet::new);
          if (!set.contains(v)) {
            set.add(v.clone());
          }
        }
      }

      @Override
      protected void merge(State s, State o) {
        Set<UTF8String> other = getObject(o, 0);
        if (other != null) {
          Set<UTF8String> set = getObject(s, 0);
          if (set == null) {
            setObject(s, 0, new HashSet<>(other));
          } else {
            set.addAll(other);
          }
        }
      }

      @Override
      protected void writeObjects(State s, ByteSink out) {
        Set<UTF8String> set = getObject(s, 0);
        out.putVarInt(set == null ? 0 : set.size());
        if (set != null) {
          set.forEach(out::putString);
        }
      }

      @Override
      protected void readObjects(State s, ByteSource in) {
        int n = in.getVarInt();
        if (n > 0) {
          Set<UTF8String> set = new HashSet<>();
          for (int i = 0; i < n; i++) {
            set.add(in.getString().clone());
          }
          setObject(s, 0, set);
        }
      }

      @Override
      protected void emit(State s, Object[] out, int at) {
        Set<UTF8String> set = getObject(s, 0);
        out[at] = set == null ? 0L : (long) set.size();
      }
    };
  }

  /**
   * The most frequent non-null {@code value} of rows that pass {@code when} (ties to the first
   * in byte order, as Spark sorts strings), its share of those rows, how many distinct values
   * there are and how many rows each has: a string, a double, a bigint and a map from string to
   * bigint; null, null, 0 and an empty map without any.
   */
  public static <R extends FoldRow> Aggregate<R> mostFrequent(String topName, String shareName, String distinctName,
                                                              String countsName, long selects, When<R> when,
                                                              Input value) {
    return new Aggregate<>(selects, List.of(value), List.of(field(topName, DataTypes.StringType, true),
        field(shareName, DataTypes.DoubleType, true), field(distinctName, DataTypes.LongType, false),
        field(countsName, DataTypes.createMapType(DataTypes.StringType, DataTypes.LongType, false), false)),
        new Aggregate.Slots(0, 0, 1)) {
      @Override
      protected void add(State s, R row) {
        UTF8String v = row.getString(value);
        if (v != null && when.test(row)) {
          Map<UTF8String, long[]> counts = counts(s);
          long[] n = counts.get(v);
          if (n == null) {
            counts.put(v.clone(), new long[] {1});
          } else {
            n[0]++;
          }
        }
      }

      private Map<UTF8String, long[]> counts(State s) {
        return getOrCreate(s, 0, HashMap::new);
      }

      @Override
      protected void merge(State s, State o) {
        Map<UTF8String, long[]> other = getObject(o, 0);
        if (other != null) {
          Map<UTF8String, long[]> counts = counts(s);
          other.forEach((v, n) -> counts.merge(v, n.clone(), (a, b) -> new long[] {a[0] + b[0]}));
        }
      }

      @Override
      protected void writeObjects(State s, ByteSink out) {
        Map<UTF8String, long[]> counts = getObject(s, 0);
        out.putVarInt(counts == null ? 0 : counts.size());
        if (counts != null) {
          counts.forEach((v, n) -> {
            out.putString(v);
            out.putLong(n[0]);
          });
        }
      }

      @Override
      protected void readObjects(State s, ByteSource in) {
        int n = in.getVarInt();
        if (n > 0) {
          Map<UTF8String, long[]> counts = counts(s);
          for (int i = 0; i < n; i++) {
            counts.put(in.getString().clone(), new long[] {in.getLong()});
          }
        }
      }

      @Override
      protected void emit(State s, Object[] out, int at) {
        Map<UTF8String, long[]> counts = getObject(s, 0);
        UTF8String top = null;
        long topN = 0;
        long total = 0;
        Map<String, Long> each = new java.util.TreeMap<>();
        if (counts != null) {
          for (Map.Entry<UTF8String, long[]> e : counts.entrySet()) {
            long n = e.getValue()[0];
            each.put(e.getKey().toString(), n);
            total += n;
            if (n > topN || (n == topN && e.getKey().compareTo(top) < 0)) {
              top = e.getKey();
              topN = n;
            }
          }
        }
        out[at] = top == null ? null : top.toString();
        out[at + 1] = top == null ? null : (double) topN / total;
        out[at + 2] = counts == null ? 0L : (long) counts.size();
        // Spark's row encoder takes Scala maps.
        out[at + 3] = scala.jdk.javaapi.CollectionConverters.asScala(each);
      }
    };
  }

  /** Writes a string or its absence. */
  public static void writeNullable(ByteSink out, UTF8String s) {
    out.putByte(s == null ? 0 : 1);
    if (s != null) {
      out.putString(s);
    }
  }

  /** Reads what {@link #writeNullable} wrote, as a string of its own (a copy). */
  public static UTF8String readNullable(ByteSource in) {
    return in.getByte() == 0 ? null : in.getString().clone();
  }
}
