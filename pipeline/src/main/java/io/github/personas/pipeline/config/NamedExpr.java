package io.github.personas.pipeline.config;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.functions;

/**
 * One named Spark SQL expression or condition from a configuration table, in table order.
 *
 * @param name the label it produces (a segment name, a feature name)
 * @param sql  the Spark SQL expression or condition
 */
public record NamedExpr(String name, String sql) {

  /** {@link #sql()} as a column; see {@link #column(String)}. */
  public Column column() {
    return column(sql);
  }

  /**
   * Parses a configured expression as exactly one expression.
   *
   * <p>Wrapped in parentheses because Spark's expression parser reads a trailing word as an
   * alias: a condition cut short like {@code "a > 1 AND"} would otherwise be {@code a > 1}
   * named {@code AND}, and only fail later inside a larger expression, without the rule's name.
   */
  public static Column column(String sql) {
    return functions.expr("(" + sql + ")");
  }
}
