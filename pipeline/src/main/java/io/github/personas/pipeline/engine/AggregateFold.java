package io.github.personas.pipeline.engine;

import io.github.personas.pipeline.engine.Aggregate.State;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The {@link Fold} of a list of {@link Aggregate}s: their slots side by side in one state per
 * group, their columns side by side in the output, their numbers then their objects in the bytes.
 *
 * <p>Each row is handed only to the aggregates whose selector bits it has: a fold of thirty
 * aggregates calls the handful that read a row's kind of event.
 *
 * @param <R> the row view of the aggregates
 */
public final class AggregateFold<R extends FoldRow> implements Fold<State> {

  private static final long serialVersionUID = 1L;

  /** Makes the row view of a task (the view is mutable, one per fold instance). */
  @FunctionalInterface
  public interface ViewFactory<R> extends java.io.Serializable {
    R create();
  }

  private final List<Aggregate<R>> aggregates;
  private final Input selector;
  private final ViewFactory<R> viewFactory;
  private final List<String> inputs;
  private final StructType output;
  private final int longs;
  private final int doubles;
  private final int objects;
  private final int[] always;
  /** The selector bits any aggregate reads: a row's bits outside it call no one. */
  private final long readBits;
  private transient R view;
  /** The aggregates (indexes) that read a row, by its selector bits within {@link #readBits}. */
  private transient int[][] readersByBits;
  private transient Map<Long, int[]> readersByWideBits;

  /**
   * @param aggregates  the aggregates, in output order; each may be part of one fold only
   * @param selector    an int input whose bits say which aggregates read a row
   * @param viewInputs  the inputs the row view reads
   * @param viewFactory makes the row view
   */
  public AggregateFold(List<Aggregate<R>> aggregates, Input selector, List<Input> viewInputs,
                       ViewFactory<R> viewFactory) {
    this.aggregates = List.copyOf(aggregates);
    this.selector = Objects.requireNonNull(selector, "selector");
    this.viewFactory = Objects.requireNonNull(viewFactory, "viewFactory");
    // Inputs by name, in order of first mention: the selector, the view's, then the aggregates'.
    Map<String, Input> byName = new LinkedHashMap<>();
    List<Input> all = new ArrayList<>();
    all.add(selector);
    all.addAll(viewInputs);
    this.aggregates.forEach(a -> all.addAll(a.inputs()));
    for (Input in : all) {
      Input first = byName.putIfAbsent(in.name(), in);
      if (first != null && !first.sql().equals(in.sql())) {
        throw new IllegalArgumentException(String.format(
            "Input %s is defined twice, as %s and as %s", in.name(), first.sql(), in.sql()));
      }
    }
    List<String> names = new ArrayList<>(byName.keySet());
    for (Input in : all) {
      in.bind(names.indexOf(in.name()));
    }
    this.inputs = byName.values().stream().map(Input::selectItem).toList();

    int l = 0;
    int d = 0;
    int o = 0;
    List<StructField> fields = new ArrayList<>();
    List<Integer> everyRow = new ArrayList<>();
    for (int i = 0; i < this.aggregates.size(); i++) {
      Aggregate<R> a = this.aggregates.get(i);
      a.bind(l, d, o);
      l += a.slots().longs();
      d += a.slots().doubles();
      o += a.slots().objects();
      fields.addAll(a.columns());
      if (a.selects() == Aggregate.EVERY_ROW) {
        everyRow.add(i);
      }
    }
    this.longs = l;
    this.doubles = d;
    this.objects = o;
    this.output = new StructType(fields.toArray(StructField[]::new));
    if (output.fieldNames().length != java.util.Set.of(output.fieldNames()).size()) {
      throw new IllegalArgumentException("Two aggregates emit the same column: " + List.of(output.fieldNames()));
    }
    this.always = everyRow.stream().mapToInt(Integer::intValue).toArray();
    this.readBits = this.aggregates.stream().mapToLong(Aggregate::selects).reduce(0L, (x, y) -> x | y);
    if ((readBits >>> 31) != 0) {
      throw new IllegalArgumentException(String.format(
          "The selector is an int: aggregates can select bits 0 to 30 only, not %s", Long.toBinaryString(readBits)));
    }
  }

  /** The aggregates, in output order. */
  public List<Aggregate<R>> aggregates() {
    return aggregates;
  }

  @Override
  public List<String> inputs() {
    return inputs;
  }

  @Override
  public StructType output() {
    return output;
  }

  @Override
  public State create() {
    State s = new State(longs, doubles, objects);
    for (Aggregate<R> a : aggregates) {
      a.init(s);
    }
    return s;
  }

  @Override
  public void add(State state, Record row) {
    if (view == null) {
      view = viewFactory.create();
      if (readBits < (1L << 16)) {
        readersByBits = new int[(int) readBits + 1][];
      } else {
        readersByWideBits = new HashMap<>();
      }
    }
    view.set(row);
    for (int i : always) {
      aggregates.get(i).add(state, view);
    }
    long bits = row.getInt(selector.index()) & readBits;
    int[] readers;
    if (readersByBits != null) {
      readers = readersByBits[(int) bits];
      if (readers == null) {
        readers = readersOf(bits);
        readersByBits[(int) bits] = readers;
      }
    } else {
      readers = readersByWideBits.computeIfAbsent(bits, this::readersOf);
    }
    for (int i : readers) {
      aggregates.get(i).add(state, view);
    }
  }

  private int[] readersOf(long bits) {
    List<Integer> r = new ArrayList<>();
    for (int i = 0; i < aggregates.size(); i++) {
      long s = aggregates.get(i).selects();
      if (s != Aggregate.EVERY_ROW && (s & bits) != 0) {
        r.add(i);
      }
    }
    return r.stream().mapToInt(Integer::intValue).toArray();
  }

  @Override
  public void merge(State state, State other) {
    for (Aggregate<R> a : aggregates) {
      a.merge(state, other);
    }
  }

  @Override
  public void write(State state, ByteSink out) {
    for (long v : state.longs) {
      out.putLong(v);
    }
    for (double v : state.doubles) {
      out.putDouble(v);
    }
    for (Aggregate<R> a : aggregates) {
      a.writeObjects(state, out);
    }
  }

  @Override
  public State read(ByteSource in) {
    State s = new State(longs, doubles, objects);
    for (int i = 0; i < longs; i++) {
      s.longs[i] = in.getLong();
    }
    for (int i = 0; i < doubles; i++) {
      s.doubles[i] = in.getDouble();
    }
    for (Aggregate<R> a : aggregates) {
      a.readObjects(s, in);
    }
    return s;
  }

  @Override
  public void emit(State state, Object[] out, int at) {
    int i = at;
    for (Aggregate<R> a : aggregates) {
      a.emit(state, out, i);
      i += a.columns().size();
    }
  }
}
