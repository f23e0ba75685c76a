package io.github.personas.pipeline.segment;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.NamedExpr;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.StringJoiner;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * An ordered table of named Spark SQL conditions where the first match wins.
 *
 * <p>The table is data in conf/, and this class turns it into one CASE expression, so
 * Spark evaluates all rules in a single projection.
 */
public final class RuleTable {

  private final String configKey;
  private final List<NamedExpr> rules;

  /**
   * @param configKey where the table lives in the configuration, for messages
   * @param rules     the rules in priority order
   */
  public RuleTable(String configKey, List<NamedExpr> rules) {
    if (rules.isEmpty()) {
      throw ConfigException.of("%s has no rules", configKey);
    }
    this.configKey = configKey;
    this.rules = List.copyOf(rules);
  }

  /** The rules, in priority order. */
  public List<NamedExpr> rules() {
    return rules;
  }

  /** CASE expression giving the first matching rule's name, or null when none matches. */
  public Column label() {
    return functions.expr(labelSql());
  }

  /** Index (0-based) of the first matching rule, or null. */
  public Column firstMatchIndex() {
    StringJoiner sql = new StringJoiner(" ", "CASE ", " END");
    for (int i = 0; i < rules.size(); i++) {
      sql.add("WHEN " + paren(rules.get(i).sql()) + " THEN " + i);
    }
    return functions.expr(sql.toString());
  }

  /** The SQL text of {@link #label()}, to embed in a larger expression. */
  public String labelSql() {
    StringJoiner sql = new StringJoiner(" ", "CASE ", " END");
    for (NamedExpr r : rules) {
      sql.add("WHEN " + paren(r.sql()) + " THEN '" + r.name().replace("'", "\\'") + "'");
    }
    return sql.toString();
  }

  /**
   * Checks every rule parses and resolves against {@code sample}'s columns.
   *
   * @throws ConfigException naming the rule and key
   */
  public void checkResolves(Dataset<Row> sample) {
    for (int i = 0; i < rules.size(); i++) {
      NamedExpr r = rules.get(i);
      try {
        sample.select(r.column().cast("boolean")).schema();
      } catch (Exception e) {
        String first = ConfigException.firstLine(e);
        throw new ConfigException(String.format("%s[%d] '%s': condition \"%s\" is not valid Spark SQL over %s: %s",
            configKey, i, r.name(), r.sql(), List.of(sample.columns()), first), e);
      }
    }
  }

  /**
   * Checks the table over every row of {@code cells} (a complete grid of the inputs): each
   * cell must match some rule, and each rule must be the first match of some cell.
   *
   * @param cells    the grid, e.g. all 125 (r_score, f_score, m_score) combinations
   * @param describe how to print a cell in a message
   * @throws ConfigException naming the uncovered cell, or the shadowed rule and its shadows
   */
  public void checkCoverage(Dataset<Row> cells, java.util.function.Function<Row, String> describe) {
    checkResolves(cells);
    List<Column> cols = new ArrayList<>();
    for (String c : cells.columns()) {
      cols.add(functions.col(c));
    }
    for (NamedExpr r : rules) {
      cols.add(functions.coalesce(r.column().cast("boolean"), functions.lit(false)));
    }
    List<Row> rows = cells.select(cols.toArray(Column[]::new)).collectAsList();
    int n = cells.columns().length;
    boolean[] reachable = new boolean[rules.size()];
    List<Set<String>> shadows = new ArrayList<>();
    for (int i = 0; i < rules.size(); i++) {
      shadows.add(new LinkedHashSet<>());
    }
    for (Row row : rows) {
      int first = -1;
      for (int i = 0; i < rules.size(); i++) {
        if (row.getBoolean(n + i)) {
          if (first < 0) {
            first = i;
            reachable[i] = true;
          } else {
            shadows.get(i).add(rules.get(first).name());
          }
        }
      }
      if (first < 0) {
        throw ConfigException.of("%s: no rule covers the cell %s; add a rule or widen one so every cell has a segment",
            configKey, describe.apply(row));
      }
    }
    for (int i = 0; i < rules.size(); i++) {
      if (!reachable[i]) {
        NamedExpr r = rules.get(i);
        if (shadows.get(i).isEmpty()) {
          throw ConfigException.of("%s[%d] '%s' matches no cell: its condition \"%s\" is never true", configKey, i,
              r.name(), r.sql());
        }
        throw ConfigException.of("%s[%d] '%s' can never be reached: every cell it matches is taken first by %s",
            configKey, i, r.name(), shadows.get(i));
      }
    }
  }

  private static String paren(String sql) {
    return "(" + sql + ")";
  }
}
