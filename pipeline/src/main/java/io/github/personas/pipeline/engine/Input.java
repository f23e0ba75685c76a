package io.github.personas.pipeline.engine;

import java.io.Serializable;
import java.util.Objects;

/**
 * A column a fold reads from each row: a name and its Spark SQL expression over the pass's
 * input. Inputs of one name are one column, however many aggregates read it.
 */
public final class Input implements Serializable {

  private static final long serialVersionUID = 1L;

  private final String name;
  private final String sql;
  private int index = -1;

  private Input(String name, String sql) {
    this.name = Objects.requireNonNull(name, "name");
    this.sql = Objects.requireNonNull(sql, "sql");
  }

  /** The column {@code name}, computed as {@code sql}. */
  public static Input of(String name, String sql) {
    return new Input(name, sql);
  }

  /** The input column of the same name. */
  public static Input column(String name) {
    return new Input(name, "`" + name.replace("`", "``") + "`");
  }

  public String name() {
    return name;
  }

  public String sql() {
    return sql;
  }

  /** {@code sql AS name}, as a select list item. */
  public String selectItem() {
    return sql + " AS `" + name.replace("`", "``") + "`";
  }

  /** The field of a row this input is, once the fold has placed it. */
  public int index() {
    if (index < 0) {
      throw new IllegalStateException("Input " + name + " is not part of a fold yet");
    }
    return index;
  }

  void bind(int i) {
    if (index >= 0 && index != i) {
      throw new IllegalStateException(String.format(
          "Input %s is field %d of another fold: give each fold inputs of its own (a static input is placed on the"
              + " driver only)", name, index));
    }
    index = i;
  }
}
