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

  /** Result of one CLI call: exit code and what it printed. */
  record Result(int code, String out, String err) {}

  /** Runs the CLI in-process and returns its exit code and output. */
  static Result call(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = PersonasCli.run(new PrintWriter(out), new PrintWriter(err), args);
    return new Result(code, out.toString(), err.toString());
  }

  /** Runs the CLI and returns its exit code; on failure its output goes to stderr for the test log. */
  static int cli(String... args) {
    Result r = call(args);
    if (r.code() != 0) {
      System.err.println(r.out() + "\n" + r.err());
    }
    return r.code();
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

  /**
   * Rows of {@code table} in one output root and not the other, both ways, compared by DuckDB.
   *
   * @param columns the select list compared, e.g. * (maps and structs cast to VARCHAR)
   */
  static long differingRows(java.nio.file.Path a, java.nio.file.Path b, String table, String columns) throws Exception {
    String x = "(SELECT " + columns + " FROM read_parquet('" + a + "/" + table + "/*/*.parquet'))";
    String y = "(SELECT " + columns + " FROM read_parquet('" + b + "/" + table + "/*/*.parquet'))";
    return count("SELECT count(*) FROM ((" + x + " EXCEPT " + y + ") UNION ALL (" + y + " EXCEPT " + x + "))");
  }

  /**
   * Writes a configuration with k chosen among 3..5 instead of 3..12: runs whose test is not
   * about choosing k take a third of the time (each k costs a k-means fit and a silhouette).
   */
  static java.nio.file.Path fewKConfig(java.nio.file.Path dir) throws java.io.IOException {
    return java.nio.file.Files.writeString(dir.resolve("few-k.conf"),
        "personas.personas.k_min = 3\npersonas.personas.k_max = 5\n");
  }

  /** Columns of the personas table that must match between two runs of the same input. */
  static final String PERSONA_COLUMNS =
      "persona_id, persona_name, users, share, CAST(centroid AS VARCHAR), CAST(traits AS VARCHAR), goal";

  /**
   * Starts the CLI in a child JVM with the test classpath and Spark's JVM flags.
   *
   * @param jvmOptions extra JVM options, e.g. -Xmx1g or -Dspark.sql.shuffle.partitions=7
   * @param log        file receiving the child's stdout and stderr
   * @param args       CLI arguments
   */
  static Process startChild(java.util.List<String> jvmOptions, java.nio.file.Path log, String... args)
      throws java.io.IOException {
    java.util.List<String> cmd = new java.util.ArrayList<>(
        java.util.List.of(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    cmd.addAll(java.util.List.of(
        java.nio.file.Files.readString(java.nio.file.Path.of("../bin/spark-jvm-flags")).trim().split("\\s+")));
    cmd.addAll(jvmOptions);
    cmd.addAll(java.util.List.of("-cp", System.getProperty("java.class.path"), PersonasCli.class.getName()));
    cmd.addAll(java.util.List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    return pb.start();
  }
}
