package io.github.personas.jobs;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;

/** Shared helpers of the CLI tests: run the CLI in-process, ask DuckDB for one number. */
final class CliTesting {

  private CliTesting() {}

  /** Runs the CLI and returns its exit code; on failure its output goes to stderr for the test log. */
  static int cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = PersonasCli.run(new PrintWriter(out), new PrintWriter(err), args);
    if (code != 0) {
      System.err.println(out + "\n" + err);
    }
    return code;
  }

  /** The first column of the first row of {@code sql}, run by DuckDB as a BI tool would. */
  static long count(String sql) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
         Statement s = c.createStatement();
         ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
