package io.github.personas.pipeline.engine;

import org.apache.spark.unsafe.types.UTF8String;

/**
 * The row an {@link Aggregate} sees: the current {@link Record} read through {@link Input}s.
 *
 * <p>A subclass adds what several aggregates derive from the same fields (a date, an hour),
 * computed once per row: {@link #onRow()} is called before the aggregates of each row.
 */
public class FoldRow {

  private Record record;

  /** Makes {@code r} the current row. */
  final void set(Record r) {
    record = r;
    onRow();
  }

  /** Called when a new row becomes current; clears values cached for the previous one. */
  protected void onRow() {}

  /** The current row's fields. */
  public final Record record() {
    return record;
  }

  public final boolean isNull(Input in) {
    return record.isNullAt(in.index());
  }

  public final long getLong(Input in) {
    return record.getLong(in.index());
  }

  public final int getInt(Input in) {
    return record.getInt(in.index());
  }

  public final double getDouble(Input in) {
    return record.getDouble(in.index());
  }

  public final boolean getBoolean(Input in) {
    return record.getBoolean(in.index());
  }

  /** The string, or null; it points into the block being read, so clone it to keep it. */
  public final UTF8String getString(Input in) {
    int i = in.index();
    return record.isNullAt(i) ? null : record.getUTF8String(i);
  }
}
