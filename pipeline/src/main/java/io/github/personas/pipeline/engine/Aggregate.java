package io.github.personas.pipeline.engine;

import java.io.Serializable;
import java.util.List;
import java.util.Objects;
import org.apache.spark.sql.types.StructField;

/**
 * One per-group aggregate, defined once: which rows it reads, the slots it keeps in a group's
 * {@link State}, how it adds a row and merges another state's slots, how it serialises what
 * is not a plain number, and the documented columns it emits.
 *
 * <p>{@link AggregateFold} lays the aggregates of a fold side by side in one state per group
 * (numbers in shared long and double arrays, so a group costs three arrays, not an object per
 * aggregate); its output schema and byte layout are those of the aggregates, in order.
 *
 * @param <R> the row view the aggregate reads
 */
public abstract class Aggregate<R extends FoldRow> implements Serializable {

  private static final long serialVersionUID = 1L;

  /** {@link #selects()} of an aggregate that reads every row. */
  public static final long EVERY_ROW = 0;

  private final long selects;
  private final List<StructField> columns;
  private final List<Input> inputs;
  private final Slots slots;
  private int longBase = -1;
  private int doubleBase;
  private int objectBase;

  /**
   * The slots an aggregate keeps in each group's state.
   *
   * @param longs   long slots (counts, times, bit sets)
   * @param doubles double slots (sums)
   * @param objects object slots (sets, maps, strings), serialised by the aggregate itself
   */
  public record Slots(int longs, int doubles, int objects) implements Serializable {}

  /**
   * @param selects bits of the fold's selector of the rows this aggregate reads (any of them),
   *                or {@link #EVERY_ROW}
   * @param inputs  columns it reads besides those of the row view
   * @param columns the columns it emits
   * @param slots   what it keeps per group
   */
  protected Aggregate(long selects, List<Input> inputs, List<StructField> columns, Slots slots) {
    this.selects = selects;
    this.inputs = List.copyOf(inputs);
    this.columns = List.copyOf(columns);
    this.slots = slots;
    if (columns.isEmpty()) {
      throw new IllegalArgumentException("An aggregate emits at least one column");
    }
  }

  /** The selector bits of the rows it reads; {@link #EVERY_ROW} for all. */
  public final long selects() {
    return selects;
  }

  /** The columns it emits, in order. */
  public final List<StructField> columns() {
    return columns;
  }

  /** The inputs it reads besides the row view's. */
  public final List<Input> inputs() {
    return inputs;
  }

  /** What it keeps per group. */
  public final Slots slots() {
    return slots;
  }

  final void bind(int longs, int doubles, int objects) {
    if (longBase >= 0) {
      throw new IllegalStateException("Aggregate " + columns.get(0).name() + " is part of another fold already");
    }
    longBase = longs;
    doubleBase = doubles;
    objectBase = objects;
  }

  /** Sets the slots of a group without rows (zeros unless overridden). */
  protected void init(State s) {}

  /** Adds a row whose selector has one of {@link #selects()}'s bits. */
  protected abstract void add(State s, R row);

  /** Merges {@code other}'s slots into {@code s}'s. */
  protected abstract void merge(State s, State other);

  /** Writes the object slots (numbers are written by the fold). */
  protected void writeObjects(State s, ByteSink out) {}

  /** Reads what {@link #writeObjects} wrote. */
  protected void readObjects(State s, ByteSource in) {}

  /** Puts the values of {@link #columns()} into {@code out} from {@code at}, as Spark's external Row values. */
  protected abstract void emit(State s, Object[] out, int at);

  protected final long getLong(State s, int slot) {
    return s.longs[longBase + slot];
  }

  protected final void setLong(State s, int slot, long v) {
    s.longs[longBase + slot] = v;
  }

  protected final double getDouble(State s, int slot) {
    return s.doubles[doubleBase + slot];
  }

  protected final void setDouble(State s, int slot, double v) {
    s.doubles[doubleBase + slot] = v;
  }

  @SuppressWarnings("unchecked")
  protected final <T> T getObject(State s, int slot) {
    return (T) s.objects[objectBase + slot];
  }

  protected final void setObject(State s, int slot, Object v) {
    s.objects[objectBase + slot] = v;
  }

  /** The object in {@code slot}, made by {@code create} the first time. */
  protected final <T> T getOrCreate(State s, int slot, java.util.function.Supplier<T> create) {
    T v = getObject(s, slot);
    if (v == null) {
      v = create.get();
      setObject(s, slot, v);
    }
    return v;
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + columns.stream().map(StructField::name).toList();
  }

  /** The slots of one group: every aggregate of a fold keeps its numbers and objects here. */
  public static final class State {
    final long[] longs;
    final double[] doubles;
    final Object[] objects;

    State(int longs, int doubles, int objects) {
      this.longs = new long[longs];
      this.doubles = new double[doubles];
      this.objects = new Object[objects];
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof State s && java.util.Arrays.equals(longs, s.longs)
          && java.util.Arrays.equals(doubles, s.doubles) && java.util.Arrays.deepEquals(objects, s.objects);
    }

    @Override
    public int hashCode() {
      return Objects.hash(java.util.Arrays.hashCode(longs), java.util.Arrays.hashCode(doubles));
    }
  }
}
