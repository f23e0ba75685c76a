package io.github.personas.pipeline.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Two folds over the same inputs in one pass, the second reading only the rows a condition
 * keeps: a group's state is both states, its output the first's columns then the second's under
 * a prefix.
 *
 * <p>One pass over the rows instead of two: the rows are read, decoded and shuffled once, and
 * each fold pays only for its own {@code add}.
 *
 * @param <A> the first fold's state
 * @param <B> the second fold's state
 */
public final class PairedFold<A, B> implements Fold<PairedFold.Both<A, B>> {

  private static final long serialVersionUID = 1L;

  /** The states of one group, the first fold's and the second's. */
  public static final class Both<A, B> {
    final A first;
    final B second;

    Both(A first, B second) {
      this.first = first;
      this.second = second;
    }
  }

  private final Fold<A> first;
  private final Fold<B> second;
  private final int keep;
  private final int width;
  private final List<String> inputs;
  private final StructType output;

  /**
   * @param first        the fold of every row
   * @param second       a fold with the same inputs as {@code first}, of the rows {@code secondWhere} keeps
   * @param secondWhere  a boolean Spark SQL expression over the pass's input; a row where it is null is not kept
   * @param secondPrefix put before each of the second fold's output columns
   */
  public PairedFold(Fold<A> first, Fold<B> second, String secondWhere, String secondPrefix) {
    this.first = Objects.requireNonNull(first, "first");
    this.second = Objects.requireNonNull(second, "second");
    Objects.requireNonNull(secondWhere, "secondWhere");
    Objects.requireNonNull(secondPrefix, "secondPrefix");
    if (!first.inputs().equals(second.inputs())) {
      throw new IllegalArgumentException(String.format(
          "Paired folds read the same inputs: the first reads %s, the second %s", first.inputs(), second.inputs()));
    }
    List<String> all = new ArrayList<>(first.inputs());
    // Last, so both folds read their own fields where they placed them.
    String keepName = "__paired_keep";
    all.add("(" + secondWhere + ") AS `" + keepName + "`");
    this.inputs = List.copyOf(all);
    this.keep = first.inputs().size();
    this.width = first.output().size();
    List<StructField> fields = new ArrayList<>(List.of(first.output().fields()));
    for (StructField f : second.output().fields()) {
      fields.add(new StructField(secondPrefix + f.name(), f.dataType(), f.nullable(), f.metadata()));
    }
    this.output = new StructType(fields.toArray(StructField[]::new));
    if (output.fieldNames().length != java.util.Arrays.stream(output.fieldNames()).distinct().count()) {
      throw new IllegalArgumentException(String.format(
          "The prefix '%s' gives the second fold's columns names of the first's: %s", secondPrefix,
          List.of(output.fieldNames())));
    }
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
  public Both<A, B> create() {
    return new Both<>(first.create(), second.create());
  }

  @Override
  public void add(Both<A, B> state, Record row) {
    first.add(state.first, row);
    if (!row.isNullAt(keep) && row.getBoolean(keep)) {
      second.add(state.second, row);
    }
  }

  @Override
  public void merge(Both<A, B> state, Both<A, B> other) {
    first.merge(state.first, other.first);
    second.merge(state.second, other.second);
  }

  @Override
  public void write(Both<A, B> state, ByteSink out) {
    first.write(state.first, out);
    second.write(state.second, out);
  }

  @Override
  public Both<A, B> read(ByteSource in) {
    A a = first.read(in);
    return new Both<>(a, second.read(in));
  }

  @Override
  public void emit(Both<A, B> state, Object[] out, int at) {
    first.emit(state.first, out, at);
    second.emit(state.second, out, at + width);
  }
}
