package io.github.personas.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.segment.Traits;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * Recomputes every trait number of a run's personas from its features and segments tables with
 * DuckDB (another engine, no shared code): the persona's median or mean of the trait's column,
 * and every user's, must be the numbers the personas table holds and its trait text shows.
 */
final class TraitCheck {

  private TraitCheck() {}

  /** Checks every trait of every persona of the run {@code date} under {@code out}; returns how many. */
  static int everyTraitNumberIsRecomputedFromTheTables(Path out, String date) throws Exception {
    String features = "read_parquet('" + out + "/features/dt=" + date + "/*.parquet')";
    String segments = "read_parquet('" + out + "/segments/dt=" + date + "/*.parquet')";
    int checked = 0;
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement()) {
      record T(String persona, String input, String column, String statistic, double value, double population,
               List<String> texts) {}
      List<T> traits = new ArrayList<>();
      try (ResultSet r = s.executeQuery("SELECT persona_id, t.input, t.\"column\", t.statistic, t.\"value\","
          + " t.population, to_json(traits) FROM (SELECT *, unnest(trait_values) AS t FROM read_parquet('" + out
          + "/personas/dt=" + date + "/*.parquet'))")) {
        while (r.next()) {
          traits.add(new T(r.getString(1), r.getString(2), r.getString(3), r.getString(4), r.getDouble(5),
              r.getDouble(6), strings(r.getString(7))));
        }
      }
      assertTrue(!traits.isEmpty(), "no trait at all under " + out);
      for (T t : traits) {
        String f = "median".equals(t.statistic()) ? "median" : "avg";
        String expr = f + "(CAST(" + duckDb(t.column()) + " AS DOUBLE))";
        double persona = one(s, "SELECT " + expr + " FROM " + features + " JOIN " + segments
            + " USING (user_id) WHERE persona_id = '" + t.persona() + "'");
        double everyone = one(s, "SELECT " + expr + " FROM " + features);
        assertEquals(persona, t.value(), 1e-9 * Math.max(1, Math.abs(persona)), t.persona() + " " + t.input());
        assertEquals(everyone, t.population(), 1e-9 * Math.max(1, Math.abs(everyone)), t.persona() + " " + t.input());
        String shown = t.input() + ": " + t.statistic() + " " + Traits.number(persona) + " vs " + Traits.number(everyone)
            + " for all users";
        assertTrue(t.texts().stream().anyMatch(x -> x.startsWith(shown)), shown + " not among " + t.texts());
        checked++;
      }
    }
    System.out.printf("%d trait numbers recomputed from the features and segments tables under %s%n", 2 * checked, out);
    return checked;
  }

  private static final java.util.regex.Pattern CATEGORY_SHARE = java.util.regex.Pattern.compile(
      "coalesce\\(coalesce\\(try_element_at\\(category_events, '([^'\\\\]*)'\\), 0\\) / greatest\\(aggregate\\("
          + "map_values\\(category_events\\), 0L, \\(a, b\\) -> a \\+ b\\), 1\\), 0\\)");

  /**
   * The trait's column in DuckDB's SQL: the columns and least() read the same in both engines; a
   * category share (Spark's map lambdas) is written DuckDB's way.
   */
  static String duckDb(String spark) {
    java.util.regex.Matcher m = CATEGORY_SHARE.matcher(spark);
    if (m.matches()) {
      return "coalesce(category_events['" + m.group(1) + "'], 0) / greatest(coalesce(list_sum(map_values("
          + "category_events)), 0), 1)";
    }
    return spark;
  }

  private static double one(Statement s, String sql) throws Exception {
    try (ResultSet r = s.executeQuery(sql)) {
      r.next();
      return r.getDouble(1);
    }
  }

  /** A JSON array of strings as DuckDB's to_json writes it. */
  static List<String> strings(String json) throws java.io.IOException {
    if (json == null || json.equals("null")) {
      return List.of();
    }
    return List.of(new com.fasterxml.jackson.databind.ObjectMapper().readValue(json, String[].class));
  }
}
