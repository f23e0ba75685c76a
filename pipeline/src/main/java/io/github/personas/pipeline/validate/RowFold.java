package io.github.personas.pipeline.validate;

import java.io.Serializable;
import java.util.List;
import java.util.Map;
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
