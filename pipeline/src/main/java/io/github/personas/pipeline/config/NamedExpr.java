package io.github.personas.pipeline.config;

/**
 * One named Spark SQL expression or condition from a configuration table, in table order.
 *
 * @param name the label it produces (a segment name, a feature name)
 * @param sql  the Spark SQL expression or condition
 */
public record NamedExpr(String name, String sql) {}
