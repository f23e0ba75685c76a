package io.github.personas.pipeline.validate;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.function.BiFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;

/**
 * Work on the valid rows of a source done in the validation pass itself, so that a later stage
 * does not read and check the source a second time.
 *
 * <p>The validator evaluates {@link #columns()} on every row and hands each valid row to the
 * {@link Folder} of its partition. The folders' partial states travel by key in the shuffle the
 * validator makes anyway for its duplicate search, and are merged there with {@link #merge}.
 * They describe the accepted rows only when no key repeats; when keys do repeat, the validator
 * leaves them out of its result and the later stage reads the accepted rows instead.
 */
public interface RowFold extends Serializable {

  /** Spark SQL expressions over the contract columns, each with an alias, read by the folder in this order. */
  List<String> columns();

  /** A folder for one partition (called on an executor). */
  Folder newFolder();

  /** Merges the partial states of one key, in any order; there is at least one. */
  byte[] merge(List<byte[]> states);

  /**
   * Merges the runs of equal keys in rows sorted by key, one output row per key.
   *
   * @param first the first row of the sorted rows, or null when there are none
   * @param rest  the rows after {@code first}, sorted by key
   * @param key   ordinal of the key (a string) in the rows
   * @param state ordinal of the partial state (bytes) in the rows
   * @param emit  makes the output row of a key and its merged state
   */
  default Iterator<Row> mergeRuns(Row first, Iterator<Row> rest, int key, int state,
                                  BiFunction<String, byte[], Row> emit) {
    return new Iterator<>() {
      private Row pending = first;

      @Override
      public boolean hasNext() {
        return pending != null;
      }

      @Override
      public Row next() {
        if (pending == null) {
          throw new NoSuchElementException();
        }
        String k = pending.getString(key);
        List<byte[]> states = new ArrayList<>(List.of((byte[]) pending.getAs(state)));
        pending = null;
        while (rest.hasNext()) {
          Row r = rest.next();
          if (!r.getString(key).equals(k)) {
            pending = r;
            break;
          }
          states.add(r.getAs(state));
        }
        return emit.apply(k, merge(states));
      }
    };
  }

  /** Folds one partition's valid rows into partial states per key. */
  interface Folder {
    /** Adds a valid row whose {@link #columns()} values start at ordinal {@code offset}. */
    void add(InternalRow row, int offset);

    /** True when the folder holds so many keys that its states should be written out now. */
    boolean full();

    /** The partial states held, as (key, state), forgetting them. */
    List<Map.Entry<String, byte[]>> drain();
  }
}
