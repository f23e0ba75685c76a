package io.github.personas.pipeline.engine;

import java.io.Serializable;
import java.util.List;
import org.apache.spark.sql.types.StructType;

/**
 * A per-group aggregation as a semigroup of states: rows are added to a state, two states of one
 * group merge into the state of all their rows, and a state serialises and emits its columns.
 *
 * <p>{@link KeyedPass} folds each input partition's rows of a group into their own state and
 * merges those states as the partitions' blocks arrive, and merges states it wrote to disk, so
 * {@code merge} must give what adding the other state's rows one by one would (up to the
 * rounding of floating-point sums), and {@code read(write(s))} must be {@code s}.
 *
 * @param <S> the mutable state of one group
 */
public interface Fold<S> extends Serializable {

  /** The columns a row brings: Spark SQL expressions over the pass's input, each {@code expr AS name}. */
  List<String> inputs();

  /** The columns a group's state emits, after the group key. */
  StructType output();

  /** The state of a group without rows. */
  S create();

  /** Adds a row, whose fields are the {@link #inputs()} in order. */
  void add(S state, Record row);

  /** Merges {@code other} into {@code state}. */
  void merge(S state, S other);

  /** Writes a state so that {@link #read} gives it back. */
  void write(S state, ByteSink out);

  /** Reads a state written by {@link #write}. */
  S read(ByteSource in);

  /** The values of {@link #output()} as Spark's external Row values, into {@code out} from {@code at}. */
  void emit(S state, Object[] out, int at);
}
